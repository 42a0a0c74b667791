import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { ApiError } from '../../common/api-error';
import { AccessTokenService } from '../../tokens/access-token.service';
import type { AuthUser } from '../../common/auth';
import { bearerToken } from '../bearer-token';

/**
 * The Passport `jwt` strategy. Verification is AccessTokenService's: a prepared key, the
 * algorithm pinned by configuration, kid among our own keys, issuer, audience, expiry
 * and `typ` checked; no database query. passport-jwt's own path would run jsonwebtoken,
 * which has no EdDSA and costs several times the signature check, so `authenticate`
 * is overridden; `passport.authenticate('jwt')` works as with any strategy.
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
    let user: AuthUser;
    try {
      user = this.verifyRequest(request);
    } catch (error) {
      return this.error(error as Error);
    }
    this.success(user);
  }

  /** The caller of a request with a valid access token; otherwise a 401 ApiError. Synchronous. */
  verifyRequest(request: { headers: Record<string, string | string[] | undefined> }): AuthUser {
    const result = this.tokens.verify(bearerToken(request));
    if (!result.valid) {
      throw result.expired
        ? new ApiError(401, 'token_expired', 'Access token has expired; refresh it')
        : new ApiError(401, 'token_invalid', 'Access token is invalid');
    }
    return this.validate(result.claims);
  }

  validate(claims: { sub: string; roles: AuthUser['roles'] }): AuthUser {
    return { id: claims.sub, roles: claims.roles };
  }
}
