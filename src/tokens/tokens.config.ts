import { createPublicKey, JsonWebKey, KeyObject } from 'node:crypto';
import { registerAs } from '@nestjs/config';
import { ConfigError, env } from '../config/env';
import { JWT_ALGORITHMS, JwtAlgorithm, keyId, loadOrCreatePrivateKey, loadOrCreateSecret, privateKey, publicKeys, secretKey } from './signing-key';

/** Clock skew accepted on exp, nbf and iat. The contract allows at most 5 seconds. */
export const CLOCK_TOLERANCE_SECONDS = 5;

export interface TokenKeys {
  algorithm: JwtAlgorithm;
  /** Signs new access tokens; its kid goes in every token's header. */
  signingKey: KeyObject;
  signingKid: string;
  /** kid → key: the signing key's (public) half, and previous public keys still accepted. */
  verificationKeys: ReadonlyMap<string, KeyObject>;
  /** What /.well-known/jwks.json serves; empty under HS256. */
  publicJwks: JsonWebKey[];
}

export const tokensConfig = registerAs('tokens', () => ({
  ...loadKeys(env.isProduction(), env.dataDir()),
  issuer: env.string('JWT_ISSUER', 'auth-service'),
  audience: env.string('JWT_AUDIENCE', 'api'),
  accessTtlSeconds: env.durationSeconds('JWT_ACCESS_TTL', '15m'),
  refreshTtlSeconds: env.durationSeconds('JWT_REFRESH_TTL', '30d'),
  /** A rotated refresh token presented again this soon gets the session's current one back (0: never). */
  refreshReuseIntervalSeconds: env.durationSeconds('JWT_REFRESH_REUSE_INTERVAL', '10s', { allowZero: true }),
  /** Access tokens remembered after a good verification (0: none); see AccessTokenService. */
  verifiedCacheSize: env.int('ACCESS_TOKEN_CACHE_SIZE', 10_000, { min: 0, max: 1_000_000 }),
}));

export type TokensConfig = ReturnType<typeof tokensConfig>;

function loadKeys(production: boolean, dataDir: string): TokenKeys {
  const algorithm = env.string('JWT_ALGORITHM', 'HS256') as JwtAlgorithm;
  if ((algorithm as string) === 'EdDSA') {
    // Refused rather than quietly replaced: tokens already signed with Ed25519 would stop verifying.
    throw new ConfigError('JWT_ALGORITHM', 'EdDSA is not supported: tokens are signed and verified with @nestjs/jwt (jsonwebtoken), which has no EdDSA; use ES256 (an EC P-256 key) for small asymmetric keys');
  }
  if (!JWT_ALGORITHMS.includes(algorithm)) {
    throw new ConfigError('JWT_ALGORITHM', `must be one of ${JWT_ALGORITHMS.join(', ')}, got "${algorithm}"`);
  }
  if (algorithm === 'HS256') {
    const configured = env.optional('JWT_SECRET');
    if (configured === undefined && production) throw new ConfigError('JWT_SECRET', 'is required with NODE_ENV=production');
    const key = configured === undefined ? loadOrCreateSecret(dataDir) : secretKey(configured);
    const kid = keyId(key);
    return { algorithm, signingKey: key, signingKid: kid, verificationKeys: new Map([[kid, key]]), publicJwks: [] };
  }
  const pem = env.optional('JWT_PRIVATE_KEY');
  if (pem === undefined && production) {
    throw new ConfigError('JWT_PRIVATE_KEY', `is required with NODE_ENV=production and JWT_ALGORITHM=${algorithm}`);
  }
  const signingKey = pem === undefined ? loadOrCreatePrivateKey(dataDir, algorithm) : privateKey(pem, algorithm);
  const previous = env.optional('JWT_PREVIOUS_PUBLIC_KEYS');
  const verifying = [createPublicKey(signingKey), ...(previous === undefined ? [] : publicKeys(previous, algorithm))];
  const verificationKeys = new Map(verifying.map((key) => [keyId(key), key]));
  const publicJwks = [...verificationKeys].map(([kid, key]) => ({ ...key.export({ format: 'jwk' }), kid, alg: algorithm, use: 'sig' }));
  return { algorithm, signingKey, signingKid: keyId(signingKey), verificationKeys, publicJwks };
}
