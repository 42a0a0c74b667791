import { createHash, hash, KeyObject, sign as cryptoSign, timingSafeEqual, verify as cryptoVerify } from 'node:crypto';

/**
 * Compact JWS (RFC 7515) over node:crypto with prepared KeyObjects: synchronous, one
 * signature operation per call, and nothing else. jsonwebtoken costs several times the
 * HMAC itself and has no EdDSA; jose is asynchronous (WebCrypto). RFC 8725's rules are
 * the design: the algorithm is pinned by configuration and never read from the token,
 * the key is chosen by `kid` among our own keys only, and key-pointing headers are refused.
 */
export type JwsAlgorithm = 'HS256' | 'RS256' | 'ES256' | 'EdDSA';
export const JWS_ALGORITHMS: readonly JwsAlgorithm[] = ['HS256', 'RS256', 'ES256', 'EdDSA'];

export interface DecodedJws {
  header: Readonly<Record<string, unknown>>;
  payload: Record<string, unknown>;
}

/** Headers that would let a token name its own key or extensions: never honoured, so refused. */
const FORBIDDEN_HEADERS = ['jku', 'jwk', 'x5u', 'x5c', 'crit'];
const SEGMENT = /^[A-Za-z0-9_-]*$/;

export function signJws(algorithm: JwsAlgorithm, key: KeyObject, header: Record<string, unknown>, payload: object): string {
  const input = `${encode({ ...header, alg: algorithm })}.${encode(payload)}`;
  return `${input}.${signature(algorithm, key, input).toString('base64url')}`;
}

/** The decoded token when its signature is good under one of `keys` (by kid); otherwise undefined. */
export function verifyJws(token: string, algorithm: JwsAlgorithm, keys: ReadonlyMap<string, KeyObject>): DecodedJws | undefined {
  const first = token.indexOf('.');
  const second = token.indexOf('.', first + 1);
  if (first < 1 || second < 0 || token.indexOf('.', second + 1) !== -1) return undefined;
  const header = decodeHeader(token.slice(0, first));
  if (!header || header.alg !== algorithm || FORBIDDEN_HEADERS.some((name) => name in header)) return undefined;
  const key = typeof header.kid === 'string' ? keys.get(header.kid) : undefined;
  if (!key) return undefined;
  const encodedSignature = token.slice(second + 1);
  if (!SEGMENT.test(encodedSignature)) return undefined;
  const input = token.slice(0, second);
  if (!verifySignature(algorithm, key, input, Buffer.from(encodedSignature, 'base64url'))) return undefined;
  const payload = decode(token.slice(first + 1, second));
  return payload ? { header, payload } : undefined;
}

/** RFC 7638 JWK thumbprint: a stable `kid` that names the key without revealing it. */
export function keyId(key: KeyObject): string {
  const jwk = key.type === 'secret' ? { k: key.export().toString('base64url'), kty: 'oct' } : key.export({ format: 'jwk' });
  const required: Record<string, string[]> = { oct: ['k', 'kty'], RSA: ['e', 'kty', 'n'], EC: ['crv', 'kty', 'x', 'y'], OKP: ['crv', 'kty', 'x'] };
  const members = required[jwk.kty as string].map((name) => `"${name}":${JSON.stringify((jwk as Record<string, unknown>)[name])}`);
  return createHash('sha256').update(`{${members.join(',')}}`).digest('base64url');
}

function signature(algorithm: JwsAlgorithm, key: KeyObject, input: string): Buffer {
  switch (algorithm) {
    case 'HS256':
      return hmacSha256(key, input);
    case 'RS256':
      return cryptoSign('sha256', Buffer.from(input), key);
    case 'ES256':
      return cryptoSign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
    case 'EdDSA':
      return cryptoSign(null, Buffer.from(input), key);
  }
}

function verifySignature(algorithm: JwsAlgorithm, key: KeyObject, input: string, given: Buffer): boolean {
  switch (algorithm) {
    case 'HS256': {
      const expected = hmacSha256(key, input);
      return given.length === expected.length && timingSafeEqual(given, expected);
    }
    case 'RS256':
      return cryptoVerify('sha256', Buffer.from(input), key, given);
    case 'ES256':
      return given.length === 64 && cryptoVerify('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }, given);
    case 'EdDSA':
      return cryptoVerify(null, Buffer.from(input), key, given);
  }
}

/**
 * Every token the service signs with one key has the same header, so its decoding is
 * kept: one base64 decode and one JSON.parse fewer per request. Bounded, and frozen so
 * that no caller can change a cached header.
 */
const headerCache = new Map<string, Readonly<Record<string, unknown>> | undefined>();
const HEADER_CACHE_SIZE = 16;

function decodeHeader(segment: string): Readonly<Record<string, unknown>> | undefined {
  if (headerCache.has(segment)) return headerCache.get(segment);
  const header = decode(segment);
  if (headerCache.size >= HEADER_CACHE_SIZE) headerCache.clear();
  headerCache.set(segment, header && Object.freeze(header));
  return header;
}

/**
 * HMAC-SHA256 (RFC 2104) as two one-shot hashes over the key's pads, computed once per
 * key. createHmac builds a native Hmac object per call, and under load their creation
 * and collection cost more than the hashing itself.
 */
const hmacPads = new WeakMap<KeyObject, [inner: Buffer, outer: Buffer]>();

function hmacSha256(key: KeyObject, input: string): Buffer {
  let pads = hmacPads.get(key);
  if (!pads) {
    const raw = key.export();
    const block = raw.length > 64 ? hash('sha256', raw, 'buffer') : raw; // longer keys are hashed first
    const inner = Buffer.alloc(64, 0x36);
    const outer = Buffer.alloc(64, 0x5c);
    for (let i = 0; i < block.length; i += 1) {
      inner[i] ^= block[i];
      outer[i] ^= block[i];
    }
    pads = [inner, outer];
    hmacPads.set(key, pads);
  }
  const innerHash = hash('sha256', Buffer.concat([pads[0], Buffer.from(input, 'latin1')]), 'buffer');
  return hash('sha256', Buffer.concat([pads[1], innerHash]), 'buffer');
}

function encode(part: object): string {
  return Buffer.from(JSON.stringify(part)).toString('base64url');
}

function decode(segment: string): Record<string, unknown> | undefined {
  if (segment === '' || !SEGMENT.test(segment)) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
