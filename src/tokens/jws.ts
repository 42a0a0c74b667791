import { createHash, hash, KeyObject, sign as cryptoSign, verify as cryptoVerify } from 'node:crypto';

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
  return `${input}.${signature(algorithm, key, input)}`;
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
  if (!verifySignature(algorithm, key, input, encodedSignature)) return undefined;
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

/** The signature of `input`, base64url-encoded. */
function signature(algorithm: JwsAlgorithm, key: KeyObject, input: string): string {
  switch (algorithm) {
    case 'HS256':
      return hmacSha256(key, input);
    case 'RS256':
      return cryptoSign('sha256', Buffer.from(input), key).toString('base64url');
    case 'ES256':
      return cryptoSign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url');
    case 'EdDSA':
      return cryptoSign(null, Buffer.from(input), key).toString('base64url');
  }
}

function verifySignature(algorithm: JwsAlgorithm, key: KeyObject, input: string, encoded: string): boolean {
  // HS256 compares encodings: only the canonical base64url of the MAC passes, so a token
  // cannot be re-encoded into a second valid form.
  if (algorithm === 'HS256') return constantTimeEqual(hmacSha256(key, input), encoded);
  const given = Buffer.from(encoded, 'base64url');
  switch (algorithm) {
    case 'RS256':
      return cryptoVerify('sha256', Buffer.from(input), key, given);
    case 'ES256':
      return given.length === 64 && cryptoVerify('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }, given);
    case 'EdDSA':
      return cryptoVerify(null, Buffer.from(input), key, given);
  }
}

/** No early exit: the time depends on the length only, never on where the strings differ. */
function constantTimeEqual(expected: string, given: string): boolean {
  if (given.length !== expected.length) return false;
  let difference = 0;
  for (let i = 0; i < expected.length; i += 1) difference |= expected.charCodeAt(i) ^ given.charCodeAt(i);
  return difference === 0;
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
 * HMAC-SHA256 (RFC 2104), base64url-encoded, as two one-shot hashes over buffers that
 * hold the key's pads, prepared once per key: the input and the inner digest are written
 * in after them. createHmac builds a native Hmac object per call, and Buffer results are
 * allocations; under load their creation and collection cost more than the hashing.
 * Synchronous, so one pair of buffers per key is never shared by two calls at once.
 */
const HMAC_SCRATCH_BYTES = 16 * 1024; // a bearer token is at most 8 KiB
const hmacScratch = new WeakMap<KeyObject, [inner: Buffer, outer: Buffer]>();

function hmacSha256(key: KeyObject, input: string): string {
  let scratch = hmacScratch.get(key);
  if (!scratch) {
    const raw = key.export();
    const block = raw.length > 64 ? hash('sha256', raw, 'buffer') : raw; // longer keys are hashed first
    const inner = Buffer.alloc(64 + HMAC_SCRATCH_BYTES, 0x36);
    const outer = Buffer.alloc(64 + 32, 0x5c);
    for (let i = 0; i < block.length; i += 1) {
      inner[i] ^= block[i];
      outer[i] ^= block[i];
    }
    scratch = [inner, outer];
    hmacScratch.set(key, scratch);
  }
  const [inner, outer] = scratch;
  // The input is ASCII (base64url segments): one byte a character.
  const innerData = input.length <= HMAC_SCRATCH_BYTES ? inner.subarray(0, 64 + inner.write(input, 64, 'latin1')) : Buffer.concat([inner.subarray(0, 64), Buffer.from(input, 'latin1')]);
  outer.write(hash('sha256', innerData, 'base64'), 64, 'base64');
  return hash('sha256', outer, 'base64url');
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
