import { createSecretKey } from 'node:crypto';
import type { TokensConfig } from '../../src/tokens/tokens.config';

const SIGNING_KEY = createSecretKey(Buffer.alloc(32, 1));

/** The tokens slice for unit specs: HS256 with a fixed key, 15-minute access and 1-day refresh tokens, no cache. */
export function specTokensConfig(overrides: Partial<TokensConfig> = {}): TokensConfig {
  return {
    algorithm: 'HS256',
    signingKey: SIGNING_KEY,
    signingKid: 'test',
    verificationKeys: new Map([['test', SIGNING_KEY]]),
    publicJwks: [],
    issuer: 'auth-service',
    audience: 'api',
    accessTtlSeconds: 900,
    verifiedCacheSize: 0,
    refreshTtlSeconds: 86400,
    refreshReuseIntervalSeconds: 10,
    ...overrides,
  };
}
