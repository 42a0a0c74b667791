import {
  createHash,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  generateKeyPairSync,
  KeyObject,
  randomBytes,
} from 'node:crypto';
import { join } from 'node:path';
import { ConfigError } from '../config/env';
import { announceGenerated, loadOrCreateFile } from '../config/secret-file';

/**
 * What access tokens may be signed with: what jsonwebtoken (under @nestjs/jwt and
 * passport-jwt) implements among the algorithms worth offering. It has no EdDSA.
 */
export type JwtAlgorithm = 'HS256' | 'RS256' | 'ES256';
export const JWT_ALGORITHMS: readonly JwtAlgorithm[] = ['HS256', 'RS256', 'ES256'];
type AsymmetricAlgorithm = Exclude<JwtAlgorithm, 'HS256'>;

export const MIN_SECRET_BYTES = 32;

/** What each asymmetric algorithm signs with (RFC 7518). */
const KEY_TYPES: Record<AsymmetricAlgorithm, { type: string; describe: string; check(key: KeyObject): boolean }> = {
  RS256: { type: 'rsa', describe: 'an RSA key of at least 2048 bits', check: (key) => (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048 },
  ES256: { type: 'ec', describe: 'an EC P-256 key', check: (key) => key.asymmetricKeyDetails?.namedCurve === 'prime256v1' },
};

/** RFC 7638 JWK thumbprint: a stable `kid` that names the key without revealing it (the same for a private key and its public half). */
export function keyId(key: KeyObject): string {
  const jwk = key.type === 'secret' ? { k: key.export().toString('base64url'), kty: 'oct' } : key.export({ format: 'jwk' });
  const required: Record<string, string[]> = { oct: ['k', 'kty'], RSA: ['e', 'kty', 'n'], EC: ['crv', 'kty', 'x', 'y'] };
  const members = required[jwk.kty as string].map((name) => `"${name}":${JSON.stringify((jwk as Record<string, unknown>)[name])}`);
  return createHash('sha256').update(`{${members.join(',')}}`).digest('base64url');
}

/**
 * Outside production, a random 256-bit HS256 secret is generated once into DATA_DIR
 * (mode 0600) and reused, so tokens survive a restart without any set-up.
 */
export function loadOrCreateSecret(dataDir: string): KeyObject {
  const text = loadOrCreateFile(join(dataDir, 'jwt-secret'), () => randomBytes(32).toString('base64url') + '\n', announceGenerated('JWT_SECRET'));
  const secret = Buffer.from(text.trim(), 'base64url');
  if (secret.length < MIN_SECRET_BYTES) {
    throw new ConfigError('JWT_SECRET', `is unset and ${join(dataDir, 'jwt-secret')} holds fewer than ${MIN_SECRET_BYTES} bytes: delete the file or set JWT_SECRET`);
  }
  return createSecretKey(secret);
}

export function secretKey(configured: string): KeyObject {
  const secret = Buffer.from(configured, 'utf8');
  if (secret.length < MIN_SECRET_BYTES) {
    throw new ConfigError('JWT_SECRET', `must be at least ${MIN_SECRET_BYTES} bytes long (openssl rand -base64 48)`);
  }
  return createSecretKey(secret);
}

/** Outside production without JWT_PRIVATE_KEY: a key pair generated once into DATA_DIR (mode 0600). */
export function loadOrCreatePrivateKey(dataDir: string, algorithm: AsymmetricAlgorithm): KeyObject {
  const file = join(dataDir, `jwt-${algorithm.toLowerCase()}-private-key.pem`);
  const pem = loadOrCreateFile(file, () => generatePrivateKeyPem(algorithm), announceGenerated('JWT_PRIVATE_KEY'));
  return privateKey(pem, algorithm, `${file} (generated)`);
}

/** A PEM private key that fits the algorithm; `\n` escapes (as env files write them) are accepted. */
export function privateKey(pem: string, algorithm: AsymmetricAlgorithm, source = 'JWT_PRIVATE_KEY'): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem.replace(/\\n/g, '\n'));
  } catch {
    throw new ConfigError('JWT_PRIVATE_KEY', `is not a readable PEM private key (${source})`);
  }
  assertFits(key, algorithm, 'JWT_PRIVATE_KEY');
  return key;
}

/** Every PEM public key in the text (for rotation: previous keys still verify). */
export function publicKeys(pems: string, algorithm: AsymmetricAlgorithm): KeyObject[] {
  const blocks = pems.replace(/\\n/g, '\n').match(/-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----/g) ?? [];
  if (blocks.length === 0) throw new ConfigError('JWT_PREVIOUS_PUBLIC_KEYS', 'must hold one or more PEM public keys');
  return blocks.map((block) => {
    let key: KeyObject;
    try {
      key = createPublicKey(block);
    } catch {
      throw new ConfigError('JWT_PREVIOUS_PUBLIC_KEYS', 'holds a PEM block that is not a readable public key');
    }
    assertFits(key, algorithm, 'JWT_PREVIOUS_PUBLIC_KEYS');
    return key;
  });
}

function assertFits(key: KeyObject, algorithm: AsymmetricAlgorithm, variable: string): void {
  const wanted = KEY_TYPES[algorithm];
  if (key.asymmetricKeyType !== wanted.type || !wanted.check(key)) {
    throw new ConfigError(variable, `must be ${wanted.describe} for JWT_ALGORITHM=${algorithm}`);
  }
}

function generatePrivateKeyPem(algorithm: AsymmetricAlgorithm): string {
  const pem = { type: 'pkcs8', format: 'pem' } as const;
  const spki = { type: 'spki', format: 'pem' } as const;
  switch (algorithm) {
    case 'RS256':
      return generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: spki, privateKeyEncoding: pem }).privateKey;
    case 'ES256':
      return generateKeyPairSync('ec', { namedCurve: 'prime256v1', publicKeyEncoding: spki, privateKeyEncoding: pem }).privateKey;
  }
}

