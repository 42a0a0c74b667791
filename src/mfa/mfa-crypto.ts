import { Inject, Injectable } from '@nestjs/common';
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { secretsConfig, SecretsConfig } from '../config/secrets.config';

const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * The MFA module's use of MFA_ENCRYPTION_KEY (src/config/secrets.config.ts). Two keys are
 * derived from it with HKDF, one per purpose, so that neither use can stand in for the other
 * and a longer configured key is used whole.
 *
 * - TOTP secrets: AES-256-GCM, stored as iv (12) ‖ tag (16) ‖ ciphertext, with the user's id
 *   as associated data: a row copied onto another user does not decrypt.
 * - Recovery codes: HMAC-SHA-256 over the user's id and the code. A fast hash is enough for
 *   random codes of 50 bits: there is no dictionary to try, only the 2^50 space, and online
 *   guesses are bounded by the MFA challenge's 5 attempts. Keying it means a copy of the
 *   table alone gives nothing to search offline; the user id makes each hash good for one
 *   user only, so one search cannot aim at every row at once.
 */
@Injectable()
export class MfaCrypto {
  private readonly secretKey: Buffer;
  private readonly codeKey: Buffer;

  constructor(@Inject(secretsConfig.KEY) secrets: SecretsConfig) {
    this.secretKey = derive(secrets.mfaEncryptionKey, 'auth-service mfa totp-secret v1');
    this.codeKey = derive(secrets.mfaEncryptionKey, 'auth-service mfa recovery-code v1');
  }

  encryptSecret(userId: string, secret: Uint8Array): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.secretKey, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(userId, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(secret), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), ciphertext]);
  }

  /** Throws when the blob was not encrypted for this user with this key (or was altered). */
  decryptSecret(userId: string, blob: Buffer): Buffer {
    if (blob.length <= IV_BYTES + TAG_BYTES) throw new Error('TOTP secret ciphertext is too short');
    const decipher = createDecipheriv('aes-256-gcm', this.secretKey, blob.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(userId, 'utf8'));
    decipher.setAuthTag(blob.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(blob.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
  }

  /** Of a code already in its normal form (see recovery-codes.ts). */
  hashRecoveryCode(userId: string, code: string): string {
    return createHmac('sha256', this.codeKey).update(`${userId}\n${code}`, 'utf8').digest('hex');
  }
}

function derive(key: Buffer, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), info, 32));
}
