import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { ApiError } from '../../common/api-error';
import { AccessTokenService } from '../../tokens/access-token.service';
import type { AuthUser } from '../auth-user';
import { bearerToken } from '../guards/jwt-auth.guard';

/**
 * The Passport `jwt` strategy. Verification is AccessTokenService's: a prepared key, the
 * algorithm pinned by configuration, kid among our own keys, issuer, audience, expiry
 * and `typ` checked; no database query. passport-jwt's own path would run jsonwebtoken,
 * which has no EdDSA and costs several times the signature check, so `authenticate`
 * is overridden and the rest of Passport (success/fail, the guard) is kept.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(private readonly tokens: AccessTokenService) {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      // Required by passport-jwt's constructor; never used, since authenticate() is ours.
      secretOrKeyProvider: (_request: unknown, _token: unknown, done: (error: Error) => void) =>
        done(new Error('unused')),
    });
  }

  override authenticate(request: Parameters<Strategy['authenticate']>[0]): void {
    let token: string;
    try {
      token = bearerToken(request);
    } catch (error) {
      return this.error(error as Error);
    }
    const result = this.tokens.verify(token);
    if (!result.valid) {
      return this.error(
        result.expired
          ? new ApiError(401, 'token_expired', 'Access token has expired; refresh it')
          : new ApiError(401, 'token_invalid', 'Access token is invalid'),
      );
    }
    this.success(this.validate(result.claims));
  }

  validate(claims: { sub: string; roles: AuthUser['roles'] }): AuthUser {
    return { id: claims.sub, roles: claims.roles };
  }
}
