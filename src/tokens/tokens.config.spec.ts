import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configErrorOf, isolateEnv } from '../../test/support/env';
import { tokensConfig } from './tokens.config';

const SECRET_32 = 'x'.repeat(32);
let dataDir: string;

isolateEnv(['JWT_SECRET', 'JWT_ALGORITHM', 'JWT_ACCESS_TTL', 'JWT_REFRESH_TTL', 'JWT_ISSUER', 'JWT_AUDIENCE', 'ACCESS_TOKEN_CACHE_SIZE']);

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'tokens-config-'));
  process.env.DATA_DIR = dataDir;
});

afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

describe('tokensConfig with NODE_ENV=production', () => {
  beforeEach(() => {
    process.env.NODE_ENV = 'production';
  });

  it('requires JWT_SECRET, and generates no file instead', () => {
    const error = configErrorOf(() => tokensConfig());
    expect(error.message).toMatch(/^Invalid configuration: JWT_SECRET /);
    expect(() => statSync(join(dataDir, 'jwt-secret'))).toThrow(/ENOENT/);
  });

  it('refuses a 31-byte secret', () => {
    process.env.JWT_SECRET = 'x'.repeat(31);
    expect(configErrorOf(() => tokensConfig()).message).toContain('JWT_SECRET');
  });

  it('counts bytes, not characters: 16 two-byte characters are enough, 31 bytes in 16 characters are not', () => {
    process.env.JWT_SECRET = 'é'.repeat(16); // 32 bytes in UTF-8
    expect(tokensConfig().signingKey.export().length).toBe(32);
    process.env.JWT_SECRET = 'é'.repeat(15) + 'x'; // 31 bytes
    expect(configErrorOf(() => tokensConfig()).message).toContain('JWT_SECRET');
  });

  it('accepts a 32-byte secret, as its UTF-8 bytes', () => {
    process.env.JWT_SECRET = SECRET_32;
    const config = tokensConfig();
    expect(config.signingKey.export().equals(Buffer.from(SECRET_32, 'utf8'))).toBe(true);
    expect(config.algorithm).toBe('HS256');
  });
});

describe('tokensConfig outside production without JWT_SECRET', () => {
  it('generates a 32-byte secret into DATA_DIR/jwt-secret with mode 0600', () => {
    const secret = tokensConfig().signingKey.export();
    expect(secret.length).toBe(32);
    const file = join(dataDir, 'jwt-secret');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64url').equals(secret)).toBe(true);
  });

  it('refuses a stored secret shorter than 32 bytes (an empty or damaged file), naming JWT_SECRET', () => {
    writeFileSync(join(dataDir, 'jwt-secret'), '');
    expect(configErrorOf(() => tokensConfig()).message).toMatch(/JWT_SECRET.*fewer than 32 bytes/);
    writeFileSync(join(dataDir, 'jwt-secret'), 'abc!!!\n');
    expect(configErrorOf(() => tokensConfig()).message).toMatch(/JWT_SECRET/);
  });

  it('leaves no temporary file behind', () => {
    tokensConfig();
    expect(readdirSync(dataDir)).toEqual(['jwt-secret']);
  });

  it('reuses the stored secret on the next call', () => {
    const first = tokensConfig().signingKey.export();
    const second = tokensConfig().signingKey.export();
    expect(second.equals(first)).toBe(true);
  });

  it('creates DATA_DIR when it does not exist yet', () => {
    process.env.DATA_DIR = join(dataDir, 'nested', 'data');
    const secret = tokensConfig().signingKey.export();
    expect(readFileSync(join(dataDir, 'nested', 'data', 'jwt-secret'), 'utf8').trim()).toBe(secret.toString('base64url'));
  });

  it('a configured JWT_SECRET wins over the file', () => {
    tokensConfig(); // writes the file
    process.env.JWT_SECRET = SECRET_32;
    expect(tokensConfig().signingKey.export().toString('utf8')).toBe(SECRET_32);
  });
});

describe('tokensConfig algorithm and lifetimes', () => {
  beforeEach(() => {
    process.env.JWT_SECRET = SECRET_32;
  });

  it.each(['HS512', 'none', 'rs256'])('refuses JWT_ALGORITHM=%s, naming JWT_ALGORITHM', (algorithm) => {
    process.env.JWT_ALGORITHM = algorithm;
    expect(configErrorOf(() => tokensConfig()).message).toMatch(/^Invalid configuration: JWT_ALGORITHM /);
  });

  it('refuses JWT_ALGORITHM=EdDSA (jsonwebtoken has none), naming JWT_ALGORITHM and suggesting ES256', () => {
    process.env.JWT_ALGORITHM = 'EdDSA';
    const message = configErrorOf(() => tokensConfig()).message;
    expect(message).toMatch(/^Invalid configuration: JWT_ALGORITHM /);
    expect(message).toContain('ES256');
    expect(readdirSync(dataDir)).toEqual([]); // no Ed25519 key generated
  });

  it('has defaults: HS256, 15 minutes access, 30 days refresh, issuer and audience', () => {
    expect(tokensConfig()).toMatchObject({
      algorithm: 'HS256',
      accessTtlSeconds: 900,
      refreshTtlSeconds: 30 * 86400,
      refreshReuseIntervalSeconds: 10,
      issuer: 'auth-service',
      audience: 'api',
      verifiedCacheSize: 10_000,
    });
  });

  it('reads ACCESS_TOKEN_CACHE_SIZE, 0 turning the cache off, and refuses a negative or a word', () => {
    process.env.ACCESS_TOKEN_CACHE_SIZE = '0';
    expect(tokensConfig().verifiedCacheSize).toBe(0);
    process.env.ACCESS_TOKEN_CACHE_SIZE = '-1';
    expect(configErrorOf(() => tokensConfig()).message).toMatch(/^Invalid configuration: ACCESS_TOKEN_CACHE_SIZE /);
    process.env.ACCESS_TOKEN_CACHE_SIZE = 'many';
    expect(configErrorOf(() => tokensConfig()).message).toMatch(/^Invalid configuration: ACCESS_TOKEN_CACHE_SIZE /);
  });

  it('reads JWT_ACCESS_TTL=15m as 900 seconds and JWT_REFRESH_TTL=7d as 604800', () => {
    process.env.JWT_ACCESS_TTL = '15m';
    process.env.JWT_REFRESH_TTL = '7d';
    const config = tokensConfig();
    expect(config.accessTtlSeconds).toBe(900);
    expect(config.refreshTtlSeconds).toBe(604800);
  });

  it('refuses an invalid JWT_ACCESS_TTL, naming it', () => {
    process.env.JWT_ACCESS_TTL = '15x';
    expect(configErrorOf(() => tokensConfig()).message).toMatch(/^Invalid configuration: JWT_ACCESS_TTL /);
  });

  it('refuses an invalid JWT_REFRESH_TTL, naming it', () => {
    process.env.JWT_REFRESH_TTL = '0';
    expect(configErrorOf(() => tokensConfig()).message).toMatch(/^Invalid configuration: JWT_REFRESH_TTL /);
  });
});
