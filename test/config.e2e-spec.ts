import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import request from 'supertest';
import { createApp } from '../src/app.setup';
import { authed, register } from './support/api';
import { createTestDatabase, startApp, withEnv } from './support/test-app';

/** Everything NODE_ENV=production requires (the SMTP server is never reached: nothing here sends mail). */
const PRODUCTION = {
  NODE_ENV: 'production',
  BCRYPT_COST: '12',
  JWT_SECRET: 'p'.repeat(48),
  REFRESH_TOKEN_SECRET: Buffer.alloc(32, 1).toString('base64'),
  MFA_ENCRYPTION_KEY: Buffer.alloc(32, 2).toString('base64'),
  SMTP_URL: 'smtp://127.0.0.1:2525',
};

/** Starting the service with this configuration must fail with a message naming `variable`. */
async function expectStartRefused(env: Record<string, string | undefined>, variable: string) {
  const db = await createTestDatabase();
  try {
    const start = withEnv({ BCRYPT_COST: '4', JWT_SECRET: 'a'.repeat(32), ...db.env, ...env }, () => createApp({ logger: false }));
    await expect(start).rejects.toThrow(new RegExp(`Invalid configuration: ${variable}\\b`));
  } finally {
    await db.drop();
  }
}

describe('configuration is validated at start', () => {
  it.each([
    ['a missing JWT_SECRET in production', { NODE_ENV: 'production', BCRYPT_COST: '12', JWT_SECRET: undefined }, 'JWT_SECRET'],
    ['a JWT_SECRET under 32 bytes', { JWT_SECRET: 'short-secret' }, 'JWT_SECRET'],
    ['BCRYPT_COST under 10 in production', { NODE_ENV: 'production', BCRYPT_COST: '9' }, 'BCRYPT_COST'],
    ['BCRYPT_COST over 15', { BCRYPT_COST: '16' }, 'BCRYPT_COST'],
    ['a PORT that is not a number', { PORT: 'eighty' }, 'PORT'],
    ['a malformed JWT_ACCESS_TTL', { JWT_ACCESS_TTL: '15 minutes' }, 'JWT_ACCESS_TTL'],
    ['an unsupported JWT_ALGORITHM', { JWT_ALGORITHM: 'none' }, 'JWT_ALGORITHM'],
    ['a DATABASE_URL that is not PostgreSQL', { DATABASE_URL: 'mysql://localhost/db' }, 'DATABASE_URL'],
    ['a CORS origin that is not an origin', { CORS_ORIGINS: 'https://ok.example,*' }, 'CORS_ORIGINS'],
    ['ADMIN_EMAIL without ADMIN_PASSWORD', { ADMIN_EMAIL: 'admin@example.com' }, 'ADMIN_PASSWORD'],
    ['an ADMIN_PASSWORD that breaks the policy', { ADMIN_EMAIL: 'admin@example.com', ADMIN_PASSWORD: 'password123' }, 'ADMIN_PASSWORD'],
    ['a malformed AUTH_RATE_LIMIT', { AUTH_RATE_LIMIT: '-1' }, 'AUTH_RATE_LIMIT'],
    ['TRUST_PROXY that is neither false, a hop count nor addresses', { TRUST_PROXY: 'yes please' }, 'TRUST_PROXY'],
    ['TRUST_PROXY with a malformed address', { TRUST_PROXY: '10.0.0.1, 300.1.1.1' }, 'TRUST_PROXY'],
    ['TRUST_PROXY with a malformed range', { TRUST_PROXY: '10.0.0.0/33' }, 'TRUST_PROXY'],
  ])('refuses to start with %s', async (_, env, variable) => {
    await expectStartRefused(env, variable);
  });

  it('refuses TRUST_PROXY=true in production (any client would choose the IP it is counted under), naming TRUST_PROXY', async () => {
    await expectStartRefused({ ...PRODUCTION, TRUST_PROXY: 'true' }, 'TRUST_PROXY');
    // The same value is allowed outside production, and a hop count or addresses in production.
    for (const [env, trustProxy] of [[{}, 'true'], [PRODUCTION, '1'], [PRODUCTION, '10.0.0.0/8, loopback']] as const) {
      const app = await startApp({ ...env, TRUST_PROXY: trustProxy });
      try {
        await request(app.url).get('/health').expect(200);
      } finally {
        await app.close();
      }
    }
  });

  it('starts in production with a strong secret and a cost of 10', async () => {
    const app = await startApp({ ...PRODUCTION, BCRYPT_COST: '10' });
    try {
      await request(app.url).get('/health').expect(200);
    } finally {
      await app.close();
    }
  });
});

describe('generated development secret', () => {
  it('is written once into DATA_DIR with mode 0600, so tokens survive a restart', async () => {
    const db = await createTestDatabase();
    const first = await startApp({ JWT_SECRET: '' }, db);
    const user = await register(first);
    await first.stop();
    const mode = statSync(join(db.env.DATA_DIR, 'jwt-secret')).mode & 0o777;
    expect(mode).toBe(0o600);
    const second = await startApp({ JWT_SECRET: '' }, db);
    try {
      await authed(second, 'get', '/users/me', user.accessToken).expect(200);
    } finally {
      await second.close();
    }
  });
});
