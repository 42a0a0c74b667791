import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { KeyObject } from 'node:crypto';
import { Strategy } from 'passport-jwt';
import { ApiError } from '../../common/api-error';
import type { AuthUser } from '../../common/auth';
import { AccessTokenService, Verification } from '../../tokens/access-token.service';
import { bearerToken } from '../bearer-token';

/**
 * What the `jwt` strategy and the global JwtAuthGuard put on `request.user`. A class of its
 * own, so that a guard that meets one on the request knows that this request's token has
 * already been verified (a guard applied globally and again with @UseGuards).
 */
export class TokenUser implements AuthUser {
  constructor(
    readonly id: string,
    readonly roles: AuthUser['roles'],
    readonly sessionId: string,
    readonly amr: AuthUser['amr'],
    readonly aal: number,
  ) {}
}

/** The caller named by a verification, or the 401 that says what is wrong with the token. */
export function userOf(verification: Verification): TokenUser {
  if (!verification.valid) {
    if (verification.revoked) throw new ApiError(401, 'token_revoked', 'Access token has been revoked; log in again or refresh');
    throw verification.expired
      ? new ApiError(401, 'token_expired', 'Access token has expired; refresh it')
      : new ApiError(401, 'token_invalid', 'Access token is invalid');
  }
  const { sub, roles, sid, amr, aal } = verification.claims;
  return new TokenUser(sub, roles, sid, amr, aal);
}

/**
 * The Passport `jwt` strategy, a passport-jwt Strategy as its users know it:
 * `AuthGuard('jwt')` and `passport.authenticate('jwt')` run it unmodified.
 *
 * - the token comes from `Authorization: Bearer` as the global guard reads it (bearerToken):
 *   its 401s (token_missing, a refresh token sent as Bearer) are thrown, and reach the
 *   caller as they are, where passport-jwt's own extractor would answer a bare 401;
 * - `secretOrKeyProvider` picks the key by `kid` among our keys (AccessTokenService.keyFor,
 *   which also refuses another typ, key-pointing headers and a non-canonical signature);
 * - jsonwebtoken checks the signature with `algorithms`, `issuer` and `audience` pinned, and
 *   nbf with the clock leeway;
 * - validate() applies the claim rules jsonwebtoken lacks (AccessTokenService.checkClaims),
 *   expiry included: passport-jwt reports every jsonwebtoken failure as a bare 401, and only
 *   an error thrown by validate() keeps its code, so that an expired token gets token_expired.
 *
 * The global JwtAuthGuard decides the same on its faster, synchronous path (AccessTokenService.verify,
 * with its cache); test/jwt-paths.e2e-spec.ts holds the two paths together.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(private readonly tokens: AccessTokenService) {
    const { algorithms, issuer, audience, clockTolerance } = tokens.verifyOptions;
    super({
      jwtFromRequest: bearerToken,
      secretOrKeyProvider: (_request: unknown, rawJwtToken: string, done: (error: unknown, key?: string | Buffer) => void) => {
        let key: KeyObject;
        try {
          key = tokens.keyFor(rawJwtToken);
        } catch (error) {
          return done(error);
        }
        // jsonwebtoken 9 takes the prepared KeyObject; @types/passport-jwt names only string and Buffer.
        done(null, key as unknown as Buffer);
      },
      algorithms,
      issuer,
      audience,
      ignoreExpiration: true, // checked by validate(), see above
      jsonWebTokenOptions: { clockTolerance },
    });
  }

  validate(payload: unknown): AuthUser {
    return userOf(this.tokens.checkPayload(payload));
  }
}
