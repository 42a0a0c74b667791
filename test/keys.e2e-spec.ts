import { generateKeyPairSync } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import * as jose from 'jose';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { createApp } from '../src/app.setup';
import { authed, register } from './support/api';
import { decodeJwt, signJwt } from './support/jwt';
import { createTestDatabase, startApp, TestApp, withEnv } from './support/test-app';

// Passport strategies are process-wide: each test runs one app at a time.

async function withApp<T>(env: Record<string, string>, run: (app: TestApp) => Promise<T>, db?: Awaited<ReturnType<typeof createTestDatabase>>) {
  const app = await startApp(env, db);
  try {
    return await run(app);
  } finally {
    if (db) await app.stop();
    else await app.close();
  }
}

function pem(algorithm: 'RS256' | 'ES256' | 'Ed25519'): { privateKey: string; publicKey: string } {
  const keys =
    algorithm === 'RS256'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : algorithm === 'ES256'
        ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
        : generateKeyPairSync('ed25519');
  return {
    privateKey: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKey: keys.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

describe.each(['RS256', 'ES256'] as const)('JWT_ALGORITHM=%s', (algorithm) => {
  it('signs with a generated key pair, serves it as JWKS, and another service verifies a token with it alone', async () => {
    const db = await createTestDatabase();
    try {
      const user = await withApp({ JWT_ALGORITHM: algorithm }, async (app) => {
        const registered = await register(app);
        const { header } = decodeJwt(registered.accessToken);
        expect(header).toMatchObject({ alg: algorithm, typ: 'at+jwt' });
        await authed(app, 'get', '/users/me', registered.accessToken).expect(200);

        const jwks = await request(app.url).get('/.well-known/jwks.json').expect(200);
        expect(jwks.headers['cache-control']).toMatch(/max-age/);
        expect(jwks.body.keys).toHaveLength(1);
        const [key] = jwks.body.keys;
        expect(key).toMatchObject({ kid: header.kid, alg: algorithm, use: 'sig' });
        expect(key.d).toBeUndefined(); // never the private part
        expect(key.p).toBeUndefined();

        // What docs/ tells another service to do: verify against the JWKS, no secret needed.
        const { payload, protectedHeader } = await jose.jwtVerify(registered.accessToken, jose.createLocalJWKSet(jwks.body), {
          issuer: 'auth-service',
          audience: 'api',
          typ: 'at+jwt',
          algorithms: [algorithm],
        });
        expect(payload.sub).toBe(registered.user.id);
        expect(protectedHeader.kid).toBe(header.kid);
        return registered;
      }, db);
      const mode = statSync(join(db.env.DATA_DIR, `jwt-${algorithm.toLowerCase()}-private-key.pem`)).mode & 0o777;
      expect(mode).toBe(0o600);
      // The generated key is reused after a restart: the token still verifies.
      await withApp({ JWT_ALGORITHM: algorithm }, async (app) => {
        await authed(app, 'get', '/users/me', user.accessToken).expect(200);
      }, db);
    } finally {
      await db.drop();
    }
  });

  it('keeps a previous public key for verification while a new key signs (rotation)', async () => {
    const db = await createTestDatabase();
    const oldKey = pem(algorithm);
    const newKey = pem(algorithm);
    try {
      const before = await withApp({ JWT_ALGORITHM: algorithm, JWT_PRIVATE_KEY: oldKey.privateKey }, (app) => register(app), db);
      await withApp({ JWT_ALGORITHM: algorithm, JWT_PRIVATE_KEY: newKey.privateKey }, async (app) => {
        const response = await authed(app, 'get', '/users/me', before.accessToken).expect(401); // without the old key
        expect(response.body.code).toBe('token_invalid');
      }, db);
      await withApp(
        { JWT_ALGORITHM: algorithm, JWT_PRIVATE_KEY: newKey.privateKey, JWT_PREVIOUS_PUBLIC_KEYS: oldKey.publicKey },
        async (app) => {
          await authed(app, 'get', '/users/me', before.accessToken).expect(200);
          const login = await request(app.url).post('/auth/login').send({ email: before.email, password: before.password }).expect(200);
          const newKid = decodeJwt(login.body.accessToken).header.kid;
          expect(newKid).not.toBe(decodeJwt(before.accessToken).header.kid);
          const jwks = await request(app.url).get('/.well-known/jwks.json').expect(200);
          expect(jwks.body.keys.map((k: { kid: string }) => k.kid).sort()).toEqual([newKid, decodeJwt(before.accessToken).header.kid].sort());
        },
        db,
      );
    } finally {
      await db.drop();
    }
  });
});

describe('algorithm confusion and key-pointing headers under RS256', () => {
  it('refuses an HS256 token signed with the service\'s own RSA public key, and tokens that bring their own key', async () => {
    const keys = pem('RS256');
    await withApp({ JWT_ALGORITHM: 'RS256', JWT_PRIVATE_KEY: keys.privateKey }, async (app) => {
      const user = await register(app);
      const { header, payload } = decodeJwt(user.accessToken);
      const confused = signJwt({ ...header, alg: 'HS256' }, payload, keys.publicKey);
      const response = await authed(app, 'get', '/users/me', confused).expect(401);
      expect(response.body.code).toBe('token_invalid');
      expect(response.headers['www-authenticate']).toMatch(/^Bearer/);

      // An attacker's own key pair, announced in the token: jwk, jku, x5u, or a kid of theirs.
      const attacker = await jose.generateKeyPair('RS256');
      const attackerJwk = await jose.exportJWK(attacker.publicKey);
      for (const extra of [{ jwk: attackerJwk }, { jku: 'https://attacker.example/jwks.json' }, { x5u: 'https://attacker.example/cert.pem' }, { kid: 'attacker' }]) {
        const forged = await new jose.SignJWT({ ...payload, roles: ['user', 'admin'] })
          .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: header.kid, ...extra })
          .sign(attacker.privateKey);
        const refused = await authed(app, 'get', '/users', forged);
        expect(refused.status, JSON.stringify(Object.keys(extra))).toBe(401);
      }
    });
  });
});

describe('JWKS under HS256', () => {
  it('answers 404: there is no public key to serve', async () => {
    await withApp({}, async (app) => {
      const response = await request(app.url).get('/.well-known/jwks.json').expect(404);
      expect(response.body.code).toBe('not_found');
    });
  });
});

describe('key configuration is validated at start', () => {
  async function refused(env: Record<string, string | undefined>, variable: string) {
    const db = await createTestDatabase();
    try {
      await expect(withEnv({ BCRYPT_COST: '4', ...db.env, ...env }, () => createApp({ logger: false }))).rejects.toThrow(
        new RegExp(`Invalid configuration: ${variable}\\b`),
      );
    } finally {
      await db.drop();
    }
  }

  it('refuses an unreadable private key', () => refused({ JWT_ALGORITHM: 'RS256', JWT_PRIVATE_KEY: 'not a pem' }, 'JWT_PRIVATE_KEY'));
  it('refuses a key of the wrong type for the algorithm', () =>
    refused({ JWT_ALGORITHM: 'RS256', JWT_PRIVATE_KEY: pem('ES256').privateKey }, 'JWT_PRIVATE_KEY'));
  it('refuses an RSA key under 2048 bits', () =>
    refused(
      { JWT_ALGORITHM: 'RS256', JWT_PRIVATE_KEY: generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() },
      'JWT_PRIVATE_KEY',
    ));
  it('refuses to start in production without a private key', () =>
    refused({ NODE_ENV: 'production', BCRYPT_COST: '12', JWT_ALGORITHM: 'ES256' }, 'JWT_PRIVATE_KEY'));
  it('refuses a previous public key of another type', () =>
    refused({ JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY: pem('ES256').privateKey, JWT_PREVIOUS_PUBLIC_KEYS: pem('RS256').publicKey }, 'JWT_PREVIOUS_PUBLIC_KEYS'));
  it('refuses an Ed25519 key, with either algorithm', async () => {
    await refused({ JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY: pem('Ed25519').privateKey }, 'JWT_PRIVATE_KEY');
    await refused({ JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY: pem('ES256').privateKey, JWT_PREVIOUS_PUBLIC_KEYS: pem('Ed25519').publicKey }, 'JWT_PREVIOUS_PUBLIC_KEYS');
  });
  it('refuses JWT_ALGORITHM=EdDSA (@nestjs/jwt has no EdDSA), suggesting ES256, even with an Ed25519 key', async () => {
    await refused({ JWT_ALGORITHM: 'EdDSA' }, 'JWT_ALGORITHM');
    await refused({ JWT_ALGORITHM: 'EdDSA', JWT_PRIVATE_KEY: pem('Ed25519').privateKey }, 'JWT_ALGORITHM');
    const db = await createTestDatabase();
    try {
      await expect(withEnv({ BCRYPT_COST: '4', ...db.env, JWT_ALGORITHM: 'EdDSA' }, () => createApp({ logger: false }))).rejects.toThrow(/ES256/);
    } finally {
      await db.drop();
    }
  });
  it('accepts a PEM with \\n escapes, as env files write it', async () => {
    const escaped = pem('ES256').privateKey.replace(/\n/g, '\\n');
    await withApp({ JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY: escaped }, async (app) => {
      await register(app);
    });
  });
});
