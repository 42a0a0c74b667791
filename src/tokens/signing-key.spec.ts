import { createPublicKey, createSecretKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import * as jose from 'jose';
import { describe, expect, it } from 'vitest';
import { keyId } from './signing-key';

describe('keyId', () => {
  it('is the RFC 7638 thumbprint, as jose computes it, for RSA, EC and secret keys', async () => {
    const rsa = createPublicKey(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey);
    const ec = createPublicKey(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey);
    const secret = createSecretKey(randomBytes(32));
    for (const key of [rsa, ec, secret]) {
      expect(keyId(key)).toBe(await jose.calculateJwkThumbprint(key.export({ format: 'jwk' }) as jose.JWK));
    }
  });

  it('is the same for a private key and its public half', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    expect(keyId(privateKey)).toBe(keyId(publicKey));
  });
});
