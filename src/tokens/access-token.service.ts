import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { ALL_ROLES, Role } from '../common/auth';
import { signJws, verifyJws } from './jws';
import { CLOCK_TOLERANCE_SECONDS, tokensConfig, TokensConfig } from './tokens.config';

/** RFC 9068's media type for access tokens: a JWT of any other type is never accepted as one. */
export const ACCESS_TOKEN_TYPE = 'at+jwt';

export interface AccessTokenSubject {
  id: string;
  roles: Role[];
}

export interface AccessTokenClaims {
  sub: string;
  roles: Role[];
  jti: string;
  iat: number;
  exp: number;
  iss: string;
  aud: string;
}

export type Verification = { valid: true; claims: AccessTokenClaims } | { valid: false; expired: boolean };

const INVALID: Verification = { valid: false, expired: false };
const EXPIRED: Verification = { valid: false, expired: true };

/** The one expiry rule, for full and remembered verifications alike: `exp` plus the clock leeway. */
function isExpired(exp: number, nowSeconds: number): boolean {
  return exp <= nowSeconds - CLOCK_TOLERANCE_SECONDS;
}

/** Longer tokens are verified every time: the cache's memory stays under ~1.2 KB an entry. */
const MAX_CACHED_TOKEN_LENGTH = 1024;

/**
 * Signs and verifies short-lived access tokens with keys prepared once at start.
 * Verification is stateless: one signature check and a few comparisons, no database.
 *
 * A client presents the same access token on every request until it expires, so a token
 * that verified is remembered by its exact text (`verifiedCacheSize` of them, oldest out
 * first): presented again, only its expiry is checked. That is safe because everything
 * else verify() checks is fixed by the text and the keys, which live as long as the process;
 * a changed character is another text, verified in full.
 */
@Injectable()
export class AccessTokenService {
  private readonly verified = new Map<string, Verification & { valid: true }>();

  constructor(@Inject(tokensConfig.KEY) private readonly config: TokensConfig) {}

  get lifetimeSeconds(): number {
    return this.config.accessTtlSeconds;
  }

  sign(subject: AccessTokenSubject): string {
    const iat = Math.floor(Date.now() / 1000);
    const claims: AccessTokenClaims = {
      sub: subject.id,
      roles: subject.roles,
      jti: randomUUID(),
      iat,
      exp: iat + this.config.accessTtlSeconds,
      iss: this.config.issuer,
      aud: this.config.audience,
    };
    return signJws(this.config.algorithm, this.config.signingKey, { typ: ACCESS_TOKEN_TYPE, kid: this.config.signingKid }, claims);
  }

  verify(token: string): Verification {
    const known = this.verified.get(token);
    if (known) {
      if (!isExpired(known.claims.exp, Date.now() / 1000)) return known;
      this.verified.delete(token);
      return EXPIRED;
    }
    const verification = this.verifyInFull(token);
    if (verification.valid) this.remember(token, verification);
    return verification;
  }

  private remember(token: string, verification: Verification & { valid: true }): void {
    const capacity = this.config.verifiedCacheSize;
    if (capacity === 0 || token.length > MAX_CACHED_TOKEN_LENGTH) return;
    if (this.verified.size >= capacity) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, verification);
  }

  private verifyInFull(token: string): Verification {
    const decoded = verifyJws(token, this.config.algorithm, this.config.verificationKeys);
    if (!decoded || decoded.header.typ !== ACCESS_TOKEN_TYPE) return INVALID;
    const { sub, roles, jti, iat, exp, nbf, iss, aud } = decoded.payload;
    const now = Date.now() / 1000;
    if (
      typeof exp !== 'number' || // a token without exp is refused
      typeof iat !== 'number' ||
      typeof sub !== 'string' ||
      typeof jti !== 'string' ||
      iss !== this.config.issuer ||
      !(aud === this.config.audience || (Array.isArray(aud) && aud.includes(this.config.audience))) ||
      !Array.isArray(roles) ||
      !roles.every((role) => ALL_ROLES.includes(role as Role)) ||
      iat > now + CLOCK_TOLERANCE_SECONDS ||
      (nbf !== undefined && (typeof nbf !== 'number' || nbf > now + CLOCK_TOLERANCE_SECONDS))
    ) {
      return INVALID;
    }
    if (isExpired(exp, now)) return EXPIRED;
    // Frozen: a remembered verification is handed to every request that presents the token.
    const claims = { sub, roles: Object.freeze(roles) as Role[], jti, iat, exp, iss, aud: this.config.audience };
    return Object.freeze({ valid: true, claims: Object.freeze(claims) });
  }
}
