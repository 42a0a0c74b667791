import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { registerAs } from '@nestjs/config';
import { ConfigError, env } from './env';
import { announceGenerated, loadOrCreateFile } from './secret-file';

const MIN_KEY_BYTES = 32;

/**
 * The server's own keys at rest, in one slice (ARCHITECTURE.md, mechanism 5): each comes
 * from its variable or, outside production, is generated once into DATA_DIR (mode 0600);
 * with NODE_ENV=production a missing one stops the start. The access tokens' signing keys
 * are the tokens slice's (they have algorithms and a JWKS), generated the same way.
 *
 * - `refreshTokenKey` derives a refresh token's successor from it (HMAC), so that a token
 *   presented again within JWT_REFRESH_REUSE_INTERVAL gets the session's current one back
 *   without its plaintext ever being stored.
 * - `mfaEncryptionKey` encrypts TOTP secrets (AES-256-GCM).
 */
export const secretsConfig = registerAs('secrets', () => {
  const production = env.isProduction();
  const dataDir = env.dataDir();
  return {
    refreshTokenKey: key('REFRESH_TOKEN_SECRET', join(dataDir, 'refresh-token-secret'), production),
    mfaEncryptionKey: key('MFA_ENCRYPTION_KEY', join(dataDir, 'mfa-encryption-key'), production),
  };
});

export type SecretsConfig = ReturnType<typeof secretsConfig>;

/** 32 or more bytes, given as base64 or base64url (`openssl rand -base64 32`). */
function key(variable: string, file: string, production: boolean): Buffer {
  const configured = env.optional(variable);
  if (configured === undefined && production) {
    throw new ConfigError(variable, 'is required with NODE_ENV=production (openssl rand -base64 32)');
  }
  const text =
    configured ??
    loadOrCreateFile(
      file,
      () => randomBytes(MIN_KEY_BYTES).toString('base64url') + '\n',
      announceGenerated(variable),
    );
  const bytes = Buffer.from(text.trim(), 'base64url');
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(text.trim()) || bytes.length < MIN_KEY_BYTES) {
    throw new ConfigError(variable, `must be at least ${MIN_KEY_BYTES} bytes in base64 (${configured === undefined ? file : 'openssl rand -base64 32'})`);
  }
  return bytes;
}
