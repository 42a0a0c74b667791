import { resolve } from 'node:path';
import { registerAs } from '@nestjs/config';
import { ConfigError, env } from '../config/env';
import { loadOrCreateSecret, MIN_SECRET_BYTES } from './signing-key';

/** Clock skew accepted on exp/nbf/iat. The contract allows at most 60 seconds. */
export const CLOCK_TOLERANCE_SECONDS = 30;

export const tokensConfig = registerAs('tokens', () => {
  const production = env.isProduction();
  const algorithm = env.string('JWT_ALGORITHM', 'HS256');
  if (algorithm !== 'HS256') {
    throw new ConfigError('JWT_ALGORITHM', `must be HS256 in this version (asymmetric keys are planned), got "${algorithm}"`);
  }
  return {
    algorithm: 'HS256' as const,
    secret: resolveSecret(production, resolve(env.string('DATA_DIR', './data'))),
    issuer: env.string('JWT_ISSUER', 'auth-service'),
    audience: env.string('JWT_AUDIENCE', 'api'),
    accessTtlSeconds: env.durationSeconds('JWT_ACCESS_TTL', '15m'),
    refreshTtlSeconds: env.durationSeconds('JWT_REFRESH_TTL', '30d'),
  };
});

export type TokensConfig = ReturnType<typeof tokensConfig>;

function resolveSecret(production: boolean, dataDir: string): Buffer {
  const configured = env.optional('JWT_SECRET');
  if (configured !== undefined) {
    const secret = Buffer.from(configured, 'utf8');
    if (secret.length < MIN_SECRET_BYTES) {
      throw new ConfigError('JWT_SECRET', `must be at least ${MIN_SECRET_BYTES} bytes long (openssl rand -base64 48)`);
    }
    return secret;
  }
  if (production) throw new ConfigError('JWT_SECRET', 'is required with NODE_ENV=production');
  return loadOrCreateSecret(dataDir);
}
