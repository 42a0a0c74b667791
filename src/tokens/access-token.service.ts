import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { ALL_ROLES, Role } from '../users/role';
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

/**
 * Signs and verifies short-lived access tokens with keys prepared once at start.
 * Verification is stateless: one signature check and a few comparisons, no database.
 */
@Injectable()
export class AccessTokenService {
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
    if (exp <= now - CLOCK_TOLERANCE_SECONDS) return EXPIRED;
    return { valid: true, claims: { sub, roles: roles as Role[], jti, iat, exp, iss, aud: this.config.audience } };
  }
}
