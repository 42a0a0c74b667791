import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { KeyObject, randomUUID } from 'node:crypto';
import { ALL_ROLES, Role } from '../common/auth';
import { verificationKey } from './jwt-options';
import { RevocationService } from './revocation/revocation.service';
import { AUTH_METHODS, AuthMethod } from './session.entity';
import { CLOCK_TOLERANCE_SECONDS, tokensConfig, TokensConfig } from './tokens.config';

/** RFC 9068's media type for access tokens: a JWT of any other type is never accepted as one. */
export const ACCESS_TOKEN_TYPE = 'at+jwt';

export interface AccessTokenSubject {
  id: string;
  roles: Role[];
}

/** The session a token is issued for: its id becomes `sid`; how it was authenticated, `amr` and `aal`. */
export interface AccessTokenSession {
  id: string;
  amr: AuthMethod[];
  aal: number;
}

/** What the guard consults for every token, from memory (RevocationService). */
export type RevocationCheck = Pick<RevocationService, 'isRevoked' | 'issuedAt'>;

export interface AccessTokenClaims {
  sub: string;
  sid: string;
  roles: Role[];
  amr: AuthMethod[];
  aal: number;
  jti: string;
  iat: number;
  exp: number;
  iss: string;
  aud: string;
}

export type Verification = { valid: true; claims: AccessTokenClaims } | { valid: false; expired: boolean; revoked?: true };

const INVALID: Verification = Object.freeze({ valid: false, expired: false });
const EXPIRED: Verification = Object.freeze({ valid: false, expired: true });
const REVOKED: Verification = Object.freeze({ valid: false, expired: false, revoked: true });

/** What jsonwebtoken leaves to checkClaims: expiry, so that an expired token is told apart (token_expired). */
const EXPIRY_IN_CLAIMS = { ignoreExpiration: true } as const;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The one expiry rule, for full and remembered verifications alike: `exp` plus the clock leeway. */
function isExpired(exp: number, nowSeconds: number): boolean {
  return exp <= nowSeconds - CLOCK_TOLERANCE_SECONDS;
}

/** Longer tokens are verified every time: the cache's memory stays under ~1.2 KB an entry. */
const MAX_CACHED_TOKEN_LENGTH = 1024;

/**
 * Signs and verifies short-lived access tokens through @nestjs/jwt's JwtService, with the
 * keys TokensModule prepared at start. Verification is stateless: no database.
 *
 * A full verification is three steps, and the `jwt` Passport strategy runs the same three:
 * keyFor() (the header: algorithm, kid among our keys, typ, no key-pointing headers,
 * canonical signature), jsonwebtoken (signature, issuer, audience, nbf), and checkClaims()
 * (what jsonwebtoken does not check: exp present and not past, integer times, a UUID
 * subject, known roles).
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

  constructor(
    @Inject(tokensConfig.KEY) private readonly config: TokensConfig,
    private readonly jwt: JwtService,
    @Inject(RevocationService) private readonly revocations: RevocationCheck,
  ) {}

  get lifetimeSeconds(): number {
    return this.config.accessTtlSeconds;
  }

  /** jsonwebtoken's pins for an access token, for the `jwt` strategy (passport-jwt) to pass on. */
  get verifyOptions() {
    return {
      algorithms: [this.config.algorithm],
      issuer: this.config.issuer,
      audience: this.config.audience,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
    };
  }

  sign(subject: AccessTokenSubject, session: AccessTokenSession): string {
    const iat = this.revocations.issuedAt(subject.id, Math.floor(Date.now() / 1000));
    const claims: AccessTokenClaims = {
      sub: subject.id,
      sid: session.id,
      roles: subject.roles,
      amr: session.amr,
      aal: session.aal,
      jti: randomUUID(),
      iat,
      exp: iat + this.config.accessTtlSeconds,
      iss: this.config.issuer,
      aud: this.config.audience,
    };
    return this.jwt.sign(claims, { header: { alg: this.config.algorithm, typ: ACCESS_TOKEN_TYPE, kid: this.config.signingKid } });
  }

  /**
   * The guard's path: a remembered token checks only its expiry, any other is verified in
   * full; then, for every token, whether its session or its user's earlier tokens were
   * revoked (memory only, RevocationService).
   */
  verify(token: string): Verification {
    const known = this.verified.get(token);
    if (known) {
      if (isExpired(known.claims.exp, Date.now() / 1000)) {
        this.verified.delete(token);
        return EXPIRED;
      }
      return this.revocations.isRevoked(known.claims) ? REVOKED : known;
    }
    const verification = this.verifyInFull(token);
    if (!verification.valid) return verification;
    this.remember(token, verification);
    return this.revocations.isRevoked(verification.claims) ? REVOKED : verification;
  }

  /** The key that verifies this access token, chosen by its header; a JsonWebTokenError when it may not be verified at all. */
  keyFor(token: string): KeyObject {
    return verificationKey(token, this.config, ACCESS_TOKEN_TYPE);
  }

  /** The `jwt` strategy's path: the claim rules jsonwebtoken lacks, then revocation, as verify() does. */
  checkPayload(payload: unknown): Verification {
    const verification = this.checkClaims(payload);
    return verification.valid && this.revocations.isRevoked(verification.claims) ? REVOKED : verification;
  }

  /** The claim rules jsonwebtoken lacks, on a payload whose signature has been verified. */
  checkClaims(payload: unknown): Verification {
    if (typeof payload !== 'object' || payload === null) return INVALID;
    const { sub, sid, roles, amr, aal, jti, iat, exp, nbf, iss, aud } = payload as Record<string, unknown>;
    const now = Date.now() / 1000;
    if (
      // exp is required; times are whole seconds (RFC 7519 allows fractions, we never sign
      // them), and safe integers, so 1e400 (Infinity once parsed) never outlives the key.
      !Number.isSafeInteger(exp) ||
      !Number.isSafeInteger(iat) ||
      (nbf !== undefined && !Number.isSafeInteger(nbf)) ||
      typeof sub !== 'string' ||
      !UUID.test(sub) || // a user id: anything else would reach a query as a malformed uuid
      typeof sid !== 'string' ||
      !UUID.test(sid) || // every token names its session, so that ending the session revokes it
      !Array.isArray(amr) ||
      amr.length === 0 ||
      !amr.every((method) => AUTH_METHODS.includes(method as AuthMethod)) ||
      (aal !== 1 && aal !== 2) ||
      typeof jti !== 'string' ||
      iss !== this.config.issuer ||
      !(aud === this.config.audience || (Array.isArray(aud) && aud.includes(this.config.audience))) ||
      !Array.isArray(roles) ||
      !roles.every((role) => ALL_ROLES.includes(role as Role)) ||
      (iat as number) > now + CLOCK_TOLERANCE_SECONDS ||
      (nbf !== undefined && (nbf as number) > now + CLOCK_TOLERANCE_SECONDS)
    ) {
      return INVALID;
    }
    if (isExpired(exp as number, now)) return EXPIRED;
    // Frozen: a remembered verification is handed to every request that presents the token.
    const claims = {
      sub,
      sid,
      roles: Object.freeze([...roles]) as Role[],
      amr: Object.freeze([...amr]) as AuthMethod[],
      aal: aal as number,
      jti,
      iat: iat as number,
      exp: exp as number,
      iss,
      aud: this.config.audience,
    };
    return Object.freeze({ valid: true, claims: Object.freeze(claims) });
  }

  private remember(token: string, verification: Verification & { valid: true }): void {
    const capacity = this.config.verifiedCacheSize;
    if (capacity === 0 || token.length > MAX_CACHED_TOKEN_LENGTH) return;
    if (this.verified.size >= capacity) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, verification);
  }

  private verifyInFull(token: string): Verification {
    let payload: unknown;
    try {
      this.keyFor(token); // the access-token rules for the header; JwtService's provider picks the same key
      payload = this.jwt.verify(token, EXPIRY_IN_CLAIMS);
    } catch {
      return INVALID;
    }
    return this.checkClaims(payload);
  }
}
