import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { ApiError } from '../../common/api-error';
import { ALL_ROLES, Role } from '../../users/role';
import { ACCESS_TOKEN_TYPE, AccessTokenService } from '../../tokens/access-token.service';
import { CLOCK_TOLERANCE_SECONDS } from '../../tokens/tokens.config';
import type { AuthUser } from '../auth-user';

interface VerifiedToken {
  header: { typ?: unknown };
  payload: { sub?: unknown; roles?: unknown; exp?: unknown; jti?: unknown };
}

/**
 * Verifies access tokens statelessly: one HMAC with a prepared key, the algorithm
 * pinned, issuer, audience and expiry checked. No database query.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(tokens: AccessTokenService) {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      // jsonwebtoken accepts a KeyObject; passport-jwt's types predate it.
      secretOrKey: tokens.key as unknown as Buffer,
      algorithms: [tokens.config.algorithm],
      issuer: tokens.config.issuer,
      audience: tokens.config.audience,
      jsonWebTokenOptions: { complete: true, clockTolerance: CLOCK_TOLERANCE_SECONDS },
    });
  }

  validate(token: VerifiedToken): AuthUser {
    const { header, payload } = token;
    const roles = payload.roles;
    if (
      header.typ !== ACCESS_TOKEN_TYPE ||
      typeof payload.exp !== 'number' || // jsonwebtoken accepts a token without exp; we do not
      typeof payload.sub !== 'string' ||
      typeof payload.jti !== 'string' ||
      !Array.isArray(roles) ||
      !roles.every((role) => ALL_ROLES.includes(role as Role))
    ) {
      throw new ApiError(401, 'token_invalid', 'Access token is invalid');
    }
    return { id: payload.sub, roles: roles as Role[] };
  }
}
