import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { SecretsConfig } from '../config/secrets.config';
import { MfaCrypto } from './mfa-crypto';

const crypto = (key = randomBytes(32)) => new MfaCrypto({ mfaEncryptionKey: key, refreshTokenKey: randomBytes(32) } as SecretsConfig);

describe('MfaCrypto', () => {
  it('encrypts a TOTP secret as iv ‖ tag ‖ ciphertext, fresh each time, that decrypts for its user only', () => {
    const box = crypto();
    const userId = randomUUID();
    const secret = randomBytes(20);
    const blob = box.encryptSecret(userId, secret);
    expect(blob).toHaveLength(12 + 16 + 20);
    expect(blob.includes(secret)).toBe(false);
    expect(box.encryptSecret(userId, secret).equals(blob)).toBe(false);
    expect(box.decryptSecret(userId, blob)).toEqual(secret);
    expect(() => box.decryptSecret(randomUUID(), blob)).toThrow();
  });

  it('refuses a blob altered anywhere, too short, or made with another key', () => {
    const box = crypto();
    const userId = randomUUID();
    const blob = box.encryptSecret(userId, randomBytes(20));
    for (let i = 0; i < blob.length; i++) {
      const altered = Buffer.from(blob);
      altered[i] ^= 1;
      expect(() => box.decryptSecret(userId, altered)).toThrow();
    }
    expect(() => box.decryptSecret(userId, blob.subarray(0, 28))).toThrow();
    expect(() => crypto().decryptSecret(userId, blob)).toThrow();
  });

  it('hashes a recovery code with a key and the user id: another user or key gives another hash', () => {
    const key = randomBytes(32);
    const box = crypto(key);
    const [alice, bob] = [randomUUID(), randomUUID()];
    const hash = box.hashRecoveryCode(alice, 'ab1c0dx9yz');
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(crypto(key).hashRecoveryCode(alice, 'ab1c0dx9yz')).toBe(hash);
    expect(box.hashRecoveryCode(bob, 'ab1c0dx9yz')).not.toBe(hash);
    expect(crypto().hashRecoveryCode(alice, 'ab1c0dx9yz')).not.toBe(hash);
  });
});
