import { createHmac, createPrivateKey, createPublicKey, createSecretKey, generateKeyPairSync, KeyObject, randomBytes, randomUUID, sign } from 'node:crypto';
import { keyId } from '../../src/tokens/signing-key';
import { TEST_JWT_SECRET } from './test-app';

export function decodeJwt(token: string): { header: Record<string, any>; payload: Record<string, any> } {
  const [header, payload] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(header, 'base64url').toString()),
    payload: JSON.parse(Buffer.from(payload, 'base64url').toString()),
  };
}

/** Builds an HS256 JWS by hand, so a test can forge any header and claims. */
export function signJwt(header: Record<string, unknown>, payload: Record<string, unknown>, secret: string | Buffer = TEST_JWT_SECRET): string {
  const encode = (part: unknown) => Buffer.from(JSON.stringify(part)).toString('base64url');
  const input = `${encode(header)}.${encode(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/** Claims of a valid access token for this user, which a test can then alter. */
export function accessClaims(sub: string, roles: string[] = ['user'], overrides: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return { sub, sid: randomUUID(), roles, amr: ['pwd'], aal: 1, jti: `jti-${now}-${Math.random()}`, iat: now, exp: now + 900, iss: 'auth-service', aud: 'api', ...overrides };
}

/** The header of the service's access tokens under TEST_JWT_SECRET (kid: the key's RFC 7638 thumbprint). */
export const ACCESS_HEADER = { alg: 'HS256', typ: 'at+jwt', kid: keyId(createSecretKey(Buffer.from(TEST_JWT_SECRET))) };

export type TestAlgorithm = 'HS256' | 'RS256' | 'ES256';

/** What signs tokens as the service does: its algorithm, its (private or secret) key and that key's kid. */
export interface Signer {
  algorithm: TestAlgorithm;
  key: KeyObject;
  kid: string;
}

/** A signer for the service under test: TEST_JWT_SECRET for HS256, else this PEM private key (JWT_PRIVATE_KEY). */
export function signerFor(algorithm: TestAlgorithm, privateKeyPem?: string): Signer {
  const key = algorithm === 'HS256' ? createSecretKey(Buffer.from(TEST_JWT_SECRET)) : createPrivateKey(privateKeyPem!);
  return { algorithm, key, kid: keyId(key) };
}

/** A new PEM key pair for RS256 (2048-bit RSA) or ES256 (P-256). */
export function pemKeyPair(algorithm: 'RS256' | 'ES256'): { privateKey: string; publicKey: string } {
  const pair = algorithm === 'RS256' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return {
    privateKey: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKey: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/**
 * A compact JWS signed by hand with node:crypto: any header, and the payload as an object or
 * as its exact JSON text (so that a test can send `1e400`, which JSON.stringify cannot).
 */
export function signWith(algorithm: string, key: KeyObject, header: Record<string, unknown>, payload: object | string): string {
  const encode = (text: string) => Buffer.from(text).toString('base64url');
  const input = `${encode(JSON.stringify(header))}.${encode(typeof payload === 'string' ? payload : JSON.stringify(payload))}`;
  const data = Buffer.from(input);
  const signature =
    algorithm === 'HS256'
      ? createHmac('sha256', key).update(input).digest()
      : algorithm === 'ES256'
        ? sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' })
        : sign('sha256', data, key);
  return `${input}.${signature.toString('base64url')}`;
}

/** Another spelling of the same signature bytes: one unused trailing bit set (HS256, RS256 and ES256 signatures all have some). */
export function withTrailingBitSet(token: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  return `${token.slice(0, -1)}${alphabet[alphabet.indexOf(token.at(-1)!) ^ 1]}`;
}

export type Outcome = { status: 200 } | { status: 401; code: 'token_missing' | 'token_invalid' | 'token_expired' };

/** One Authorization header (undefined: none) that a protected route must answer as `outcome` says. */
export interface MisusedToken {
  label: string;
  /** Built when sent, so that tokens near the clock leeway are fresh. */
  authorization: () => string | undefined;
  outcome: Outcome;
}

const INVALID: Outcome = { status: 401, code: 'token_invalid' };
const EXPIRED: Outcome = { status: 401, code: 'token_expired' };
const ACCEPTED: Outcome = { status: 200 };

/**
 * Every forged and misused access token of the security tests, in one list: the cases of
 * test/users.e2e-spec.ts, test/keys.e2e-spec.ts and test/fuzz.e2e-spec.ts, and those of the
 * rules on subjects, integer times, canonical signatures and the 5 s leeway. The
 * service's paths (the global JwtAuthGuard and the Passport `jwt` strategy) must decide
 * each alike: test/jwt-paths.e2e-spec.ts. `valid` and `refreshToken` are what a
 * registration returned to `userId`; `signer` signs as the service does.
 */
export function misusedTokens(context: { userId: string; valid: string; refreshToken?: string; signer: Signer }): MisusedToken[] {
  const { userId, valid, signer } = context;
  const header = { alg: signer.algorithm, typ: 'at+jwt', kid: signer.kid };
  const own = (headerOverrides: Record<string, unknown>, claims: object | string) => signWith(signer.algorithm, signer.key, { ...header, ...headerOverrides }, claims);
  const claims = (overrides: Record<string, unknown> = {}) => accessClaims(userId, ['user'], overrides);
  const now = () => Math.floor(Date.now() / 1000);
  const bearer = (token: string) => `Bearer ${token}`;
  const encode = (part: unknown) => Buffer.from(JSON.stringify(part)).toString('base64url');
  const [validHeader, validPayload, validSignature] = valid.split('.');
  const sameKind = signer.algorithm === 'HS256' ? createSecretKey(randomBytes(32)) : createPrivateKey(pemKeyPair(signer.algorithm).privateKey);
  const attackerJwk = sameKind.type === 'secret' ? { kty: 'oct', k: sameKind.export().toString('base64url') } : createPublicKey(sameKind).export({ format: 'jwk' });
  const publicPem = signer.algorithm === 'HS256' ? undefined : createPublicKey(signer.key).export({ type: 'spki', format: 'pem' }).toString();
  const rawClaims = (exp: string, extra = '') =>
    `{"sub":"${userId}","roles":["user"],"jti":"${randomUUID()}","iat":${now()},"exp":${exp}${extra},"iss":"auth-service","aud":"api"}`;

  const cases: Array<[string, () => string | undefined, Outcome]> = [
    // The controls: what the service issued, and a hand-signed token with every claim right,
    // so that each case below fails for its own flaw.
    ['the token the service issued', () => bearer(valid), ACCEPTED],
    ['a hand-signed token with every claim right', () => bearer(own({}, claims())), ACCEPTED],
    ['times within the 5 s leeway (iat and nbf 2 s ahead, exp 2 s past)', () => bearer(own({}, claims({ iat: now() + 2, nbf: now() + 2, exp: now() - 2 }))), ACCEPTED],

    // The Authorization header (bearerToken; fuzz cases).
    ['no Authorization header', () => undefined, { status: 401, code: 'token_missing' }],
    ['an empty Bearer', () => 'Bearer', INVALID],
    ['Bearer and a space', () => 'Bearer ', INVALID],
    ['another scheme', () => 'Basic dXNlcjpwYXNz', INVALID],
    ['the token under another scheme', () => `Basic ${valid}`, INVALID],
    ['trailing text after the token', () => `${bearer(valid)} extra`, INVALID],
    ['two tokens', () => `${bearer(valid)} ${valid}`, INVALID],
    ['"Bearer a.b.c"', () => 'Bearer a.b.c', INVALID],
    ['"bearer a.b.c"', () => 'bearer a.b.c', INVALID],
    ['"Bearer .."', () => 'Bearer ..', INVALID],
    ['non-base64 garbage', () => bearer('abc.def.ghi'), INVALID],
    ['a header over 8 KiB of token', () => bearer(`${'a'.repeat(9000)}.b.c`), INVALID],
    ['a token over 8 KiB, validly signed', () => bearer(own({}, claims({ pad: 'x'.repeat(9000) }))), INVALID],
    ...(context.refreshToken ? [['a refresh token sent as Bearer', () => bearer(context.refreshToken!), INVALID] as [string, () => string, Outcome]] : []),

    // The signature.
    ['a tampered payload (roles raised)', () => bearer(`${validHeader}.${encode(accessClaims(userId, ['user', 'admin']))}.${validSignature}`), INVALID],
    ['a changed signature', () => bearer(valid.slice(0, -4) + (valid.endsWith('AAAA') ? 'BBBB' : 'AAAA')), INVALID],
    ['a stripped signature', () => bearer(`${validHeader}.${validPayload}.`), INVALID],
    ['a truncated signature', () => bearer(valid.slice(0, -10)), INVALID],
    ['a signature with an unused trailing bit set (the same bytes)', () => bearer(withTrailingBitSet(valid)), INVALID],
    ['a signature in base64 with + / and = padding (the same bytes)', () => bearer(`${validHeader}.${validPayload}.${Buffer.from(validSignature, 'base64url').toString('base64')}`), INVALID],
    ['a signature with = padding', () => bearer(`${valid}=`), INVALID],
    ['a token signed with another key of the same kind, under our kid', () => bearer(signWith(signer.algorithm, sameKind, header, claims())), INVALID],
    ['a token signed with another secret', () => bearer(signJwt({ ...header, alg: 'HS256' }, claims(), 'another-secret-another-secret-another')), INVALID],
    ...['secretKey', 'secret', 'changeme', 'your-256-bit-secret'].map((placeholder): [string, () => string, Outcome] => [
      `a token signed with the placeholder secret "${placeholder}"`,
      () => bearer(signJwt({ ...header, alg: 'HS256' }, accessClaims(userId, ['user', 'admin']), placeholder)),
      INVALID,
    ]),
    ...(publicPem ? [["an HS256 token signed with the service's public key as the secret (algorithm confusion)", () => bearer(signJwt({ ...header, alg: 'HS256' }, claims(), publicPem)), INVALID] as [string, () => string, Outcome]] : []),

    // The header (RFC 8725).
    ['an unsigned token (alg none)', () => bearer(`${encode({ alg: 'none', typ: 'at+jwt' })}.${encode(claims())}.`), INVALID],
    ...['none', 'None', 'NONE', 'nOnE'].map((alg): [string, () => string, Outcome] => [`an unsigned token (alg "${alg}")`, () => bearer(`${encode({ ...header, alg })}.${encode(claims())}.`), INVALID]),
    ['"Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."', () => 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.', INVALID],
    ['a kid that is not ours', () => bearer(own({ kid: 'attacker-key' }, claims())), INVALID],
    ['no kid', () => bearer(signWith(signer.algorithm, signer.key, { alg: signer.algorithm, typ: 'at+jwt' }, claims())), INVALID],
    ['a jku header (even validly signed)', () => bearer(own({ jku: 'https://attacker.example/jwks.json' }, claims())), INVALID],
    ['an x5u header (even validly signed)', () => bearer(own({ x5u: 'https://attacker.example/cert.pem' }, claims())), INVALID],
    ['a jwk header (even validly signed)', () => bearer(own({ jwk: { kty: 'oct', k: 'AAAA' } }, claims())), INVALID],
    ['an x5c header (even validly signed)', () => bearer(own({ x5c: ['MIIB'] }, claims())), INVALID],
    ['a crit header (even validly signed)', () => bearer(own({ crit: ['exp'] }, claims())), INVALID],
    ["an attacker's key, announced in a jwk header", () => bearer(signWith(signer.algorithm, sameKind, { ...header, jwk: attackerJwk }, accessClaims(userId, ['user', 'admin']))), INVALID],
    ["an attacker's key, under the attacker's kid", () => bearer(signWith(signer.algorithm, sameKind, { ...header, kid: keyId(sameKind) }, claims())), INVALID],
    ['a JWT that is not an access token (typ JWT, right kid)', () => bearer(own({ typ: 'JWT' }, claims())), INVALID],
    ['a JWT without typ (right kid)', () => bearer(signWith(signer.algorithm, signer.key, { alg: signer.algorithm, kid: signer.kid }, claims())), INVALID],

    // The claims.
    ['a token without exp', () => bearer(own({}, claims({ exp: undefined }))), INVALID],
    ['a token without iat', () => bearer(own({}, claims({ iat: undefined }))), INVALID],
    ['an iat in the future', () => bearer(own({}, claims({ iat: now() + 3600 }))), INVALID],
    ['an iat 10 s ahead, beyond the leeway', () => bearer(own({}, claims({ iat: now() + 10 }))), INVALID],
    ['nbf in the future', () => bearer(own({}, claims({ nbf: now() + 3600 }))), INVALID],
    ['nbf 10 s ahead, beyond the leeway', () => bearer(own({}, claims({ nbf: now() + 10 }))), INVALID],
    ['a wrong issuer', () => bearer(own({}, claims({ iss: 'someone-else' }))), INVALID],
    ['a wrong audience', () => bearer(own({}, claims({ aud: 'other-api' }))), INVALID],
    ['an unknown role claim', () => bearer(own({}, accessClaims(userId, ['superuser']))), INVALID],
    ['a subject that is not a UUID', () => bearer(own({}, accessClaims('not-a-uuid'))), INVALID],
    ['a numeric subject', () => bearer(own({}, claims({ sub: 42 }))), INVALID],
    ['a subject that is a UUID in braces', () => bearer(own({}, claims({ sub: `{${userId}}` }))), INVALID],
    ['exp 1e400 (Infinity once parsed)', () => bearer(own({}, rawClaims('1e400'))), INVALID],
    ['exp beyond the safe integers', () => bearer(own({}, rawClaims('9007199254740993'))), INVALID],
    ['exp with a fraction', () => bearer(own({}, rawClaims(`${now() + 900}.5`))), INVALID],
    ['exp as a string', () => bearer(own({}, rawClaims(`"${now() + 900}"`))), INVALID],
    ['iat with a fraction', () => bearer(own({}, claims({ iat: now() - 0.5 }))), INVALID],
    ['nbf with a fraction', () => bearer(own({}, claims({ nbf: now() - 0.5 }))), INVALID],
    ['nbf as a string', () => bearer(own({}, claims({ nbf: '0' }))), INVALID],
    ['nbf -1e400', () => bearer(own({}, rawClaims(`${now() + 900}`, ',"nbf":-1e400'))), INVALID],
    ['a payload that is not a JSON object', () => bearer(own({}, '"just a string"')), INVALID],

    // Expiry: told apart, so that the client refreshes.
    ['an expired token, beyond the clock leeway', () => bearer(own({}, claims({ iat: now() - 1000, exp: now() - 61 }))), EXPIRED],
    ['a token expired 7 s ago (the leeway is 5 s)', () => bearer(own({}, claims({ iat: now() - 1000, exp: now() - 7 }))), EXPIRED],
    ['an expired token with a wrong issuer (invalid before expired)', () => bearer(own({}, claims({ exp: now() - 61, iss: 'someone-else' }))), INVALID],
    ['an expired token with a non-UUID subject', () => bearer(own({}, accessClaims('nobody', ['user'], { exp: now() - 61 }))), INVALID],
  ];
  return cases.map(([label, authorization, outcome]) => ({ label, authorization, outcome }));
}
