import { createPublicKey, createSecretKey, generateKeyPairSync, KeyObject, randomBytes } from 'node:crypto';
import * as jose from 'jose';
import { describe, expect, it } from 'vitest';
import { JwsAlgorithm, keyId, signJws, verifyJws } from './jws';

function keysFor(algorithm: JwsAlgorithm): { signing: KeyObject; verifying: KeyObject } {
  switch (algorithm) {
    case 'HS256': {
      const secret = createSecretKey(randomBytes(32));
      return { signing: secret, verifying: secret };
    }
    case 'RS256': {
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      return { signing: privateKey, verifying: publicKey };
    }
    case 'ES256': {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      return { signing: privateKey, verifying: publicKey };
    }
    case 'EdDSA': {
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      return { signing: privateKey, verifying: publicKey };
    }
  }
}

const ALGORITHMS: JwsAlgorithm[] = ['HS256', 'RS256', 'ES256', 'EdDSA'];
const PAYLOAD = { sub: 'user', n: 1 };

describe.each(ALGORITHMS)('%s', (algorithm) => {
  const { signing, verifying } = keysFor(algorithm);
  const kid = keyId(verifying);
  const keys = new Map([[kid, verifying]]);

  it('round-trips, and an independent implementation (jose) verifies what we sign', async () => {
    const token = signJws(algorithm, signing, { kid, typ: 'at+jwt' }, PAYLOAD);
    expect(verifyJws(token, algorithm, keys)).toEqual({ header: { kid, typ: 'at+jwt', alg: algorithm }, payload: PAYLOAD });
    const { payload, protectedHeader } = await jose.compactVerify(token, verifying);
    expect(JSON.parse(new TextDecoder().decode(payload))).toEqual(PAYLOAD);
    expect(protectedHeader.alg).toBe(algorithm);
  });

  it('verifies what an independent implementation (jose) signs', async () => {
    const token = await new jose.CompactSign(new TextEncoder().encode(JSON.stringify(PAYLOAD)))
      .setProtectedHeader({ alg: algorithm, kid })
      .sign(signing);
    expect(verifyJws(token, algorithm, keys)?.payload).toEqual(PAYLOAD);
  });

  it('refuses a changed payload, a truncated or missing signature, and extra segments', () => {
    const token = signJws(algorithm, signing, { kid }, PAYLOAD);
    const [header, payload, signature] = token.split('.');
    const forgedPayload = Buffer.from(JSON.stringify({ ...PAYLOAD, n: 2 })).toString('base64url');
    expect(verifyJws(`${header}.${forgedPayload}.${signature}`, algorithm, keys)).toBeUndefined();
    expect(verifyJws(`${header}.${payload}.${signature.slice(0, -2)}`, algorithm, keys)).toBeUndefined();
    expect(verifyJws(`${header}.${payload}.`, algorithm, keys)).toBeUndefined();
    expect(verifyJws(`${header}.${payload}`, algorithm, keys)).toBeUndefined();
    expect(verifyJws(`${token}.x`, algorithm, keys)).toBeUndefined();
  });

  it('refuses a token whose header names another algorithm, alg none in any case, or no kid of ours', () => {
    for (const alg of ['none', 'None', 'NONE', 'nOnE', algorithm === 'HS256' ? 'RS256' : 'HS256']) {
      const header = Buffer.from(JSON.stringify({ alg, kid })).toString('base64url');
      const payload = Buffer.from(JSON.stringify(PAYLOAD)).toString('base64url');
      expect(verifyJws(`${header}.${payload}.`, algorithm, keys), alg).toBeUndefined();
    }
    expect(verifyJws(signJws(algorithm, signing, {}, PAYLOAD), algorithm, keys)).toBeUndefined();
    expect(verifyJws(signJws(algorithm, signing, { kid: 'someone-else' }, PAYLOAD), algorithm, keys)).toBeUndefined();
  });

  it.each(['jku', 'jwk', 'x5u', 'x5c', 'crit'])('refuses a validly signed token carrying a %s header', (name) => {
    const token = signJws(algorithm, signing, { kid, [name]: name === 'crit' ? ['exp'] : 'https://attacker.example/keys' }, PAYLOAD);
    expect(verifyJws(token, algorithm, keys)).toBeUndefined();
  });

  it('refuses a token signed with another key of the same kind', () => {
    const other = keysFor(algorithm).signing;
    expect(verifyJws(signJws(algorithm, other, { kid }, PAYLOAD), algorithm, keys)).toBeUndefined();
  });

  it('refuses malformed segments: non-base64url, JSON that is not an object', () => {
    expect(verifyJws('a$b.c.d', algorithm, keys)).toBeUndefined();
    const notObject = Buffer.from('[1,2]').toString('base64url');
    expect(verifyJws(`${notObject}.${notObject}.`, algorithm, keys)).toBeUndefined();
  });
});

describe('HS256 keys of any length (RFC 2104: longer than the block are hashed first)', () => {
  it.each([16, 32, 64, 65, 100, 200])('agrees with jose for a %i-byte key', async (bytes) => {
    const key = createSecretKey(randomBytes(bytes));
    const kid = keyId(key);
    const ours = signJws('HS256', key, { kid }, PAYLOAD);
    await jose.compactVerify(ours, key);
    const theirs = await new jose.CompactSign(new TextEncoder().encode(JSON.stringify(PAYLOAD))).setProtectedHeader({ alg: 'HS256', kid }).sign(key);
    expect(verifyJws(theirs, 'HS256', new Map([[kid, key]]))?.payload).toEqual(PAYLOAD);
  });
});

describe('HS256 signatures', () => {
  const key = createSecretKey(randomBytes(32));
  const kid = keyId(key);
  const keys = new Map([[kid, key]]);

  it('accepts only the canonical base64url of the MAC, not another encoding of the same bytes', () => {
    const token = signJws('HS256', key, { kid }, PAYLOAD);
    const signature = token.slice(token.lastIndexOf('.') + 1);
    expect(signature).toHaveLength(43); // 32 bytes: the last character carries 2 unused bits
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(signature[42]);
    const twin = `${token.slice(0, -1)}${alphabet[last ^ 1]}`;
    expect(Buffer.from(twin.slice(twin.lastIndexOf('.') + 1), 'base64url')).toEqual(Buffer.from(signature, 'base64url'));
    expect(verifyJws(token, 'HS256', keys)?.payload).toEqual(PAYLOAD);
    expect(verifyJws(twin, 'HS256', keys)).toBeUndefined();
  });

  it('verifies inputs longer than the prepared buffer (the bearer limit is 8 KiB)', async () => {
    const large = { sub: 'user', filler: 'x'.repeat(20_000) };
    const token = signJws('HS256', key, { kid }, large);
    await jose.compactVerify(token, key);
    expect(verifyJws(token, 'HS256', keys)?.payload).toEqual(large);
  });
});

describe('algorithm confusion', () => {
  it('an HS256 token signed with the RSA public key (as an HMAC secret) fails under RS256', () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const publicKey = createPublicKey(privateKey);
    const kid = keyId(publicKey);
    const pem = publicKey.export({ type: 'spki', format: 'pem' });
    const forged = signJws('HS256', createSecretKey(Buffer.from(pem)), { kid }, PAYLOAD);
    expect(verifyJws(forged, 'RS256', new Map([[kid, publicKey]]))).toBeUndefined();
  });
});

describe('keyId', () => {
  it('is the RFC 7638 thumbprint, as jose computes it', async () => {
    for (const algorithm of ['RS256', 'ES256', 'EdDSA'] as const) {
      const { verifying } = keysFor(algorithm);
      expect(keyId(verifying)).toBe(await jose.calculateJwkThumbprint(verifying.export({ format: 'jwk' }) as jose.JWK));
    }
  });

  it('is the same for a private key and its public half', () => {
    const { signing, verifying } = keysFor('ES256');
    expect(keyId(signing)).toBe(keyId(verifying));
  });
});
