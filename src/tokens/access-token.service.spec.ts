import { JwtService } from '@nestjs/jwt';
import { createPublicKey, createSecretKey, generateKeyPairSync, KeyObject, randomBytes, randomUUID } from 'node:crypto';
import * as jose from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Role } from '../common/auth';
import { AccessTokenService } from './access-token.service';
import { jwtModuleOptions } from './jwt-options';
import { revocationCheckOver, RevocationState } from './revocation/revocation-state';
import { JwtAlgorithm, keyId } from './signing-key';
import type { TokensConfig } from './tokens.config';

const ALGORITHMS: JwtAlgorithm[] = ['HS256', 'RS256', 'ES256'];

function keysFor(algorithm: JwtAlgorithm): { signing: KeyObject; verifying: KeyObject } {
  switch (algorithm) {
    case 'HS256': {
      const secret = createSecretKey(randomBytes(32));
      return { signing: secret, verifying: secret };
    }
    case 'RS256': {
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      return { signing: privateKey, verifying: createPublicKey(privateKey) };
    }
    case 'ES256': {
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      return { signing: privateKey, verifying: createPublicKey(privateKey) };
    }
  }
}

/** What AccessTokenService and JwtModule read, as the tokens slice types it (its refresh settings do not matter here). */
function configFor(algorithm: JwtAlgorithm, verifiedCacheSize: number, keys = keysFor(algorithm)): TokensConfig {
  const kid = keyId(keys.verifying);
  return {
    algorithm,
    signingKey: keys.signing,
    signingKid: kid,
    verificationKeys: new Map([[kid, keys.verifying]]),
    publicJwks: [],
    issuer: 'auth-service',
    audience: 'api',
    accessTtlSeconds: 900,
    refreshTtlSeconds: 86400,
    refreshReuseIntervalSeconds: 10,
    verifiedCacheSize,
  } as TokensConfig;
}

/** The service as TokensModule builds it: a real JwtService with the module's options. */
function serviceWith(config: TokensConfig): AccessTokenService {
  return new AccessTokenService(config, new JwtService(jwtModuleOptions(config)), revocationCheckOver(new RevocationState()));
}

function service(verifiedCacheSize: number, algorithm: JwtAlgorithm = 'HS256'): AccessTokenService {
  return serviceWith(configFor(algorithm, verifiedCacheSize));
}

const SUBJECT = { id: '6f1c2f0e-8a8e-4a57-9d3e-2b1f0c9a7d11', roles: [Role.User] };
const SESSION = { id: '0b6a4a43-5d43-4c8e-9e5a-3d2f1b0c9a7e', amr: ['pwd' as const], aal: 1 };
const INVALID = { valid: false, expired: false };
const EXPIRED = { valid: false, expired: true };

afterEach(() => {
  vi.useRealTimers();
});

describe('AccessTokenService: tokens remembered after a good verification', () => {
  it('answers a token presented again with the same claims', () => {
    const tokens = service(10);
    const token = tokens.sign(SUBJECT, SESSION);
    const first = tokens.verify(token);
    expect(first).toMatchObject({ valid: true, claims: { sub: SUBJECT.id, roles: ['user'] } });
    expect(tokens.verify(token)).toEqual(first);
  });

  it('still expires a remembered token, with the clock leeway of 5 s', () => {
    vi.useFakeTimers({ now: new Date('2026-11-22T10:00:00Z') });
    const tokens = service(10);
    const token = tokens.sign(SUBJECT, SESSION);
    expect(tokens.verify(token).valid).toBe(true);
    vi.setSystemTime(new Date('2026-11-22T10:15:04Z')); // 900 s + 4 s: within the leeway
    expect(tokens.verify(token).valid).toBe(true);
    vi.setSystemTime(new Date('2026-11-22T10:15:05Z'));
    expect(tokens.verify(token)).toEqual(EXPIRED);
    expect(tokens.verify(token)).toEqual(EXPIRED); // forgotten, verified in full
  });

  it('verifies any other text in full: one changed character fails', () => {
    const tokens = service(10);
    const token = tokens.sign(SUBJECT, SESSION);
    expect(tokens.verify(token).valid).toBe(true);
    const last = token.at(-1) === 'A' ? 'B' : 'A';
    expect(tokens.verify(`${token.slice(0, -1)}${last}`)).toEqual(INVALID);
    const [header, , signature] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ ...SUBJECT, sub: randomUUID() })).toString('base64url');
    expect(tokens.verify(`${header}.${forged}.${signature}`).valid).toBe(false);
  });

  it('never remembers a failed verification', () => {
    const tokens = service(10);
    const other = service(10).sign(SUBJECT, SESSION); // another key
    expect(tokens.verify(other).valid).toBe(false);
    expect(tokens.verify(other).valid).toBe(false);
  });

  it('holds at most its capacity, dropping the oldest; 0 remembers nothing', () => {
    vi.useFakeTimers({ now: new Date('2026-11-22T10:00:00Z') });
    const tokens = service(2);
    const [a, b, c] = [1, 2, 3].map(() => tokens.sign({ ...SUBJECT, id: randomUUID() }, SESSION));
    for (const token of [a, b, c]) expect(tokens.verify(token).valid).toBe(true);
    const remembered = (tokens as unknown as { verified: Map<string, unknown> }).verified;
    expect([...remembered.keys()]).toEqual([b, c]);

    const none = service(0);
    expect(none.verify(none.sign(SUBJECT, SESSION)).valid).toBe(true);
    expect((none as unknown as { verified: Map<string, unknown> }).verified.size).toBe(0);
  });

  it('hands out frozen claims, so that no request can change what the next one gets', () => {
    const tokens = service(10);
    const token = tokens.sign(SUBJECT, SESSION);
    const verification = tokens.verify(token);
    if (!verification.valid) throw new Error('expected a valid token');
    expect(() => verification.claims.roles.push(Role.Admin)).toThrow(TypeError);
    expect(() => {
      (verification.claims as { sub: string }).sub = 'x';
    }).toThrow(TypeError);
    expect(tokens.verify(token)).toMatchObject({ claims: { sub: SUBJECT.id, roles: ['user'] } });
  });
});

/** A token signed with jose (an independent implementation), with any header and the payload's exact JSON text. */
async function forge(key: KeyObject, header: jose.CompactJWSHeaderParameters, payload: string | object): Promise<string> {
  const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
  return new jose.CompactSign(new TextEncoder().encode(text)).setProtectedHeader(header).sign(key);
}

function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return { sub: SUBJECT.id, sid: SESSION.id, roles: ['user'], amr: ['pwd'], aal: 1, jti: randomUUID(), iat: now, exp: now + 900, iss: 'auth-service', aud: 'api', ...overrides };
}

/** Another spelling of the same signature bytes: an unused trailing bit set (every signature length here has some). */
function withTrailingBitSet(token: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  return `${token.slice(0, -1)}${alphabet[alphabet.indexOf(token.at(-1)!) ^ 1]}`;
}

describe('AccessTokenService: revocation, from memory', () => {
  it('answers revoked for a token of an ended session, remembered or not, and only for that session', () => {
    const state = new RevocationState();
    const config = configFor('HS256', 10);
    const tokens = new AccessTokenService(config, new JwtService(jwtModuleOptions(config)), revocationCheckOver(state));
    const token = tokens.sign(SUBJECT, SESSION);
    const other = tokens.sign(SUBJECT, { ...SESSION, id: randomUUID() });
    expect(tokens.verify(token).valid).toBe(true); // now remembered
    state.apply({ kind: 'sessions', sessionIds: [SESSION.id], forgetAt: Number.MAX_SAFE_INTEGER }, 0);
    expect(tokens.verify(token)).toEqual({ valid: false, expired: false, revoked: true });
    expect(tokens.checkPayload(JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()))).toEqual({ valid: false, expired: false, revoked: true });
    expect(tokens.verify(other).valid).toBe(true);
  });

  it('answers revoked for a user’s tokens issued before a cut-off, and issues later ones at or after it', () => {
    vi.useFakeTimers({ now: new Date('2026-11-22T10:00:00.300Z') });
    const state = new RevocationState();
    const config = configFor('HS256', 10);
    const tokens = new AccessTokenService(config, new JwtService(jwtModuleOptions(config)), revocationCheckOver(state));
    const before = tokens.sign(SUBJECT, SESSION);
    const cutoff = Math.ceil(Date.now() / 1000); // as RevocationService.userTokensRevoked sets it
    state.apply({ kind: 'user', userId: SUBJECT.id, notBefore: cutoff, forgetAt: Number.MAX_SAFE_INTEGER }, 0);
    expect(tokens.verify(before)).toEqual({ valid: false, expired: false, revoked: true });
    const after = tokens.sign(SUBJECT, SESSION); // same second: its iat is moved to the cut-off
    expect(tokens.verify(after)).toMatchObject({ valid: true, claims: { iat: cutoff } });
  });
});

describe.each(ALGORITHMS)('AccessTokenService under %s, through @nestjs/jwt', (algorithm) => {
  const keys = keysFor(algorithm);
  const config = configFor(algorithm, 0, keys);
  const tokens = serviceWith(config);
  const header = { alg: algorithm, typ: 'at+jwt', kid: config.signingKid };

  it('signs a token that an independent implementation (jose) verifies, with our header', async () => {
    const token = tokens.sign(SUBJECT, SESSION);
    const { payload, protectedHeader } = await jose.jwtVerify(token, keys.verifying, {
      algorithms: [algorithm],
      issuer: 'auth-service',
      audience: 'api',
      typ: 'at+jwt',
    });
    expect(protectedHeader).toEqual(header);
    expect(payload).toMatchObject({ sub: SUBJECT.id, roles: ['user'], iss: 'auth-service', aud: 'api' });
    expect(payload.exp! - payload.iat!).toBe(900);
  });

  it('verifies what jose signs with our key, and only with every claim right', async () => {
    expect(tokens.verify(await forge(keys.signing, header, claims()))).toMatchObject({ valid: true, claims: { sub: SUBJECT.id } });
  });

  it.each([
    ['a subject that is not a UUID', claims({ sub: 'someone' })],
    ['a subject that is a UUID in braces', claims({ sub: `{${SUBJECT.id}}` })],
    ['a numeric subject', claims({ sub: 42 })],
    ['exp with a fraction', claims({ exp: Math.floor(Date.now() / 1000) + 900.5 })],
    ['exp as a string', claims({ exp: String(Math.floor(Date.now() / 1000) + 900) })],
    ['no exp', claims({ exp: undefined })],
    ['iat with a fraction', claims({ iat: Math.floor(Date.now() / 1000) - 0.5 })],
    ['no iat', claims({ iat: undefined })],
    ['nbf with a fraction', claims({ nbf: Math.floor(Date.now() / 1000) - 0.5 })],
    ['nbf as a string', claims({ nbf: '0' })],
    ['an iat beyond the leeway', claims({ iat: Math.floor(Date.now() / 1000) + 10 })],
    ['an nbf beyond the leeway', claims({ nbf: Math.floor(Date.now() / 1000) + 10 })],
    ['an unknown role', claims({ roles: ['user', 'superuser'] })],
    ['no jti', claims({ jti: undefined })],
    ['no sid', claims({ sid: undefined })],
    ['a sid that is not a UUID', claims({ sid: 'session-1' })],
    ['no amr', claims({ amr: undefined })],
    ['an empty amr', claims({ amr: [] })],
    ['an unknown amr method', claims({ amr: ['pwd', 'sms'] })],
    ['aal 3', claims({ aal: 3 })],
    ['aal as a string', claims({ aal: '2' })],
    ['another issuer', claims({ iss: 'someone-else' })],
    ['another audience', claims({ aud: 'other-api' })],
  ])('refuses %s (token_invalid)', async (_, payload) => {
    expect(tokens.verify(await forge(keys.signing, header, payload))).toEqual(INVALID);
  });

  it.each([
    ['exp 1e400 (Infinity once parsed)', (now: number) => `{"sub":"${SUBJECT.id}","sid":"${SESSION.id}","roles":["user"],"amr":["pwd"],"aal":1,"jti":"j","iat":${now},"exp":1e400,"iss":"auth-service","aud":"api"}`],
    ['exp beyond the safe integers', (now: number) => `{"sub":"${SUBJECT.id}","sid":"${SESSION.id}","roles":["user"],"amr":["pwd"],"aal":1,"jti":"j","iat":${now},"exp":9007199254740993,"iss":"auth-service","aud":"api"}`],
    ['iat 1e400', () => `{"sub":"${SUBJECT.id}","sid":"${SESSION.id}","roles":["user"],"amr":["pwd"],"aal":1,"jti":"j","iat":1e400,"exp":1e10,"iss":"auth-service","aud":"api"}`],
    ['nbf -1e400', (now: number) => `{"sub":"${SUBJECT.id}","sid":"${SESSION.id}","roles":["user"],"amr":["pwd"],"aal":1,"jti":"j","iat":${now},"nbf":-1e400,"exp":${now + 900},"iss":"auth-service","aud":"api"}`],
    ['a payload that is not a JSON object', () => '"just a string"'],
  ])('refuses %s, as the JSON text says it', async (_, text) => {
    expect(tokens.verify(await forge(keys.signing, header, text(Math.floor(Date.now() / 1000))))).toEqual(INVALID);
  });

  it('answers expired (token_expired) beyond the leeway of 5 s, and accepts within it', async () => {
    const now = Math.floor(Date.now() / 1000);
    expect(tokens.verify(await forge(keys.signing, header, claims({ iat: now - 1000, exp: now - 6 })))).toEqual(EXPIRED);
    const within = { iat: now + 3, nbf: now + 3, exp: now - 3 };
    expect(tokens.verify(await forge(keys.signing, header, claims(within))).valid).toBe(true);
  });

  it('refuses a signature in any non-canonical base64url spelling', async () => {
    const token = tokens.sign(SUBJECT, SESSION);
    const twin = withTrailingBitSet(token);
    const signature = token.slice(token.lastIndexOf('.') + 1);
    // The same bytes: a lenient decoder (Node's) would verify this signature.
    expect(Buffer.from(twin.slice(twin.lastIndexOf('.') + 1), 'base64url')).toEqual(Buffer.from(signature, 'base64url'));
    expect(tokens.verify(token).valid).toBe(true);
    expect(tokens.verify(twin)).toEqual(INVALID);
    const base64 = Buffer.from(signature, 'base64url').toString('base64'); // with + / and = padding
    expect(tokens.verify(`${token.slice(0, token.lastIndexOf('.'))}.${base64}`)).toEqual(INVALID);
    expect(tokens.verify(`${token}=`)).toEqual(INVALID);
  });

  it.each(['jku', 'jwk', 'x5u', 'x5c', 'crit'])('refuses a validly signed token carrying a %s header', async (name) => {
    // crit names b64 (RFC 7797), the one extension jose signs with; we implement none.
    const value = name === 'x5c' ? ['MIIB'] : name === 'jwk' ? { kty: 'oct', k: 'AAAA' } : 'https://attacker.example/keys';
    const extra = name === 'crit' ? { crit: ['b64'], b64: true } : { [name]: value };
    expect(tokens.verify(await forge(keys.signing, { ...header, ...extra } as jose.CompactJWSHeaderParameters, claims()))).toEqual(INVALID);
  });

  it('refuses another typ, no typ, no kid, a kid not ours, alg none, and another algorithm', async () => {
    const payload = claims();
    expect(tokens.verify(await forge(keys.signing, { ...header, typ: 'JWT' }, payload))).toEqual(INVALID);
    expect(tokens.verify(await forge(keys.signing, { alg: algorithm, kid: header.kid }, payload))).toEqual(INVALID);
    expect(tokens.verify(await forge(keys.signing, { alg: algorithm, typ: 'at+jwt' }, payload))).toEqual(INVALID);
    expect(tokens.verify(await forge(keys.signing, { ...header, kid: 'attacker' }, payload))).toEqual(INVALID);
    const encode = (part: object) => Buffer.from(JSON.stringify(part)).toString('base64url');
    for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
      expect(tokens.verify(`${encode({ ...header, alg })}.${encode(payload)}.`), alg).toEqual(INVALID);
    }
    const other = algorithm === 'HS256' ? 'ES256' : 'HS256';
    expect(tokens.verify(await forge(keysFor(other).signing, { ...header, alg: other }, payload))).toEqual(INVALID);
  });

  it('refuses a token signed with another key of the same kind, under our kid', async () => {
    expect(tokens.verify(await forge(keysFor(algorithm).signing, header, claims()))).toEqual(INVALID);
  });

  it('refuses malformed tokens: segments missing or extra, not base64url, a header that is not an object', () => {
    const token = tokens.sign(SUBJECT, SESSION);
    const [h, p] = token.split('.');
    for (const malformed of [`${h}.${p}`, `${h}.${p}.`, `${token}.x`, 'a$b.c.d', `${Buffer.from('[1]').toString('base64url')}.${p}.x`, '']) {
      expect(tokens.verify(malformed), malformed).toEqual(INVALID);
    }
  });
});

describe('algorithm confusion', () => {
  it('an HS256 token signed with the RSA public key (as an HMAC secret) fails under RS256', async () => {
    const config = configFor('RS256', 0);
    const tokens = serviceWith(config);
    const publicKey = config.verificationKeys.get(config.signingKid)!;
    const secret = createSecretKey(Buffer.from(publicKey.export({ type: 'spki', format: 'pem' })));
    const forged = await forge(secret, { alg: 'HS256', typ: 'at+jwt', kid: config.signingKid }, claims());
    expect(tokens.verify(forged)).toEqual(INVALID);
  });
});

describe('JwtService as TokensModule registers it (for modules that verify other JWTs with our keys)', () => {
  const config = configFor('ES256', 0);
  const jwt = new JwtService(jwtModuleOptions(config));

  it('signs with our key and kid, and verifies with issuer, audience and expiry checked', async () => {
    const token = jwt.sign({ sub: SUBJECT.id, iss: 'auth-service', aud: 'api', exp: Math.floor(Date.now() / 1000) + 60 });
    expect(jose.decodeProtectedHeader(token)).toMatchObject({ alg: 'ES256', kid: config.signingKid });
    expect(jwt.verify(token)).toMatchObject({ sub: SUBJECT.id });
    const expired = jwt.sign({ sub: SUBJECT.id, iss: 'auth-service', aud: 'api', exp: Math.floor(Date.now() / 1000) - 10 });
    expect(() => jwt.verify(expired)).toThrow(/expired/);
    expect(() => jwt.verify(jwt.sign({ iss: 'other', aud: 'api' }))).toThrow(/issuer/);
  });

  it('refuses a kid not ours and key-pointing headers before jsonwebtoken sees the token', async () => {
    const payload = { iss: 'auth-service', aud: 'api', exp: Math.floor(Date.now() / 1000) + 60 };
    expect(() => jwt.verify(jwt.sign(payload, { keyid: 'attacker' }))).toThrow(/kid/);
    const withJku = await forge(config.signingKey, { alg: 'ES256', kid: config.signingKid, jku: 'https://attacker.example/jwks' }, payload);
    expect(() => jwt.verify(withJku)).toThrow(/names a key/);
  });
});
