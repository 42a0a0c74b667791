import type { KeyObject } from 'node:crypto';
import { JsonWebTokenError, JwtModuleOptions, JwtSecretRequestType } from '@nestjs/jwt';
import type { TokenKeys, TokensConfig } from './tokens.config';
import { CLOCK_TOLERANCE_SECONDS } from './tokens.config';

/**
 * How @nestjs/jwt (and passport-jwt, through the `jwt` strategy) meet our keys. jsonwebtoken
 * checks the signature, the algorithm against the pinned list, issuer, audience and the
 * times; what RFC 8725 asks beyond that is here, applied before it sees the token: the key
 * is chosen by `kid` among our own keys only, headers that would let a token name its own
 * key or demand extensions are refused, and the signature must be spelled in canonical
 * base64url, so that one signature has one text (Node's base64 decoder ignores unused
 * trailing bits, padding and the `+`/`/` alphabet, and RS256/ES256 would verify them).
 */

/** Never honoured, so refused: jku, jwk, x5u and x5c point to keys, crit demands extensions we do not implement. */
const FORBIDDEN_HEADERS = ['jku', 'jwk', 'x5u', 'x5c', 'crit'] as const;
const SEGMENT = /^[A-Za-z0-9_-]+$/;

export type JwtHeader = Readonly<Record<string, unknown>>;

/**
 * The key that verifies this token, or a JsonWebTokenError saying why there is none.
 * `typ`, when given, must be the header's `typ` (RFC 9068: an access token is `at+jwt`).
 */
export function verificationKey(token: unknown, keys: Pick<TokenKeys, 'algorithm' | 'verificationKeys'>, typ?: string): KeyObject {
  if (typeof token !== 'string') throw new JsonWebTokenError('jwt must be a string');
  const first = token.indexOf('.');
  const last = token.lastIndexOf('.');
  if (first < 1 || token.indexOf('.', first + 1) !== last) throw new JsonWebTokenError('jwt malformed');
  const header = decodeHeader(token.slice(0, first));
  if (!header) throw new JsonWebTokenError('jwt header is not a JSON object');
  if (header.alg !== keys.algorithm) throw new JsonWebTokenError('invalid algorithm');
  if (FORBIDDEN_HEADERS.some((name) => Object.hasOwn(header, name))) throw new JsonWebTokenError('jwt header names a key or extensions');
  if (typ !== undefined && header.typ !== typ) throw new JsonWebTokenError(`jwt typ must be ${typ}`);
  const key = typeof header.kid === 'string' ? keys.verificationKeys.get(header.kid) : undefined;
  if (!key) throw new JsonWebTokenError('jwt kid names none of our keys');
  if (!isCanonicalBase64url(token.slice(last + 1))) throw new JsonWebTokenError('jwt signature is not canonical base64url');
  return key;
}

/** JwtModule's options: our prepared KeyObjects, and the verification pins every JwtService.verify() gets. */
export function jwtModuleOptions(config: TokensConfig): JwtModuleOptions {
  return {
    secretOrKeyProvider: (requestType, tokenOrPayload) =>
      requestType === JwtSecretRequestType.SIGN ? config.signingKey : verificationKey(tokenOrPayload, config),
    signOptions: { algorithm: config.algorithm, keyid: config.signingKid },
    verifyOptions: {
      algorithms: [config.algorithm],
      issuer: config.issuer,
      audience: config.audience,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
    },
  };
}

/** Decoding the bytes and encoding them again gives the same text only for the canonical spelling. */
function isCanonicalBase64url(segment: string): boolean {
  return segment.length > 0 && Buffer.from(segment, 'base64url').toString('base64url') === segment;
}

/**
 * Every token signed with one key has the same header, so its decoding is kept: one
 * base64 decode and one JSON.parse fewer per full verification. Bounded, and frozen so
 * that no caller can change a cached header.
 */
const headerCache = new Map<string, JwtHeader | undefined>();
const HEADER_CACHE_SIZE = 16;

function decodeHeader(segment: string): JwtHeader | undefined {
  if (headerCache.has(segment)) return headerCache.get(segment);
  const header = decodeObject(segment);
  if (headerCache.size >= HEADER_CACHE_SIZE) headerCache.clear();
  headerCache.set(segment, header && Object.freeze(header));
  return header;
}

function decodeObject(segment: string): Record<string, unknown> | undefined {
  if (!SEGMENT.test(segment)) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
