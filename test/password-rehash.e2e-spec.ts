import { afterAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { GOOD_PASSWORD, register } from './support/api';
import { createTestDatabase, startApp, TestApp, TestDatabase } from './support/test-app';

/**
 * After BCRYPT_COST changes, an account whose hash has the old cost would answer a login
 * in another time than an unknown email (checked against a dummy hash at the new cost):
 * a successful login re-hashes the password at the configured cost.
 */
describe('a login after BCRYPT_COST changed', () => {
  let database: TestDatabase;
  let app: TestApp | undefined;

  afterAll(async () => {
    await app?.stop();
    await database?.drop();
  });

  const storedHash = async (email: string): Promise<string> =>
    ((await app!.dataSource.query('SELECT password_hash FROM users WHERE email = $1', [email])) as Array<{ password_hash: string }>)[0].password_hash;

  it('re-hashes the password at the new cost, and only after a correct password', async () => {
    database = await createTestDatabase();
    app = await startApp({ BCRYPT_COST: '4' }, database);
    const user = await register(app);
    expect(await storedHash(user.email)).toMatch(/^\$2b\$04\$/);
    await app.stop();

    app = await startApp({ BCRYPT_COST: '5' }, database);
    await request(app.url).post('/auth/login').send({ email: user.email, password: 'not the password at all' }).expect(401);
    const before = await storedHash(user.email);
    expect(before).toMatch(/^\$2b\$04\$/);

    await request(app.url).post('/auth/login').send({ email: user.email, password: GOOD_PASSWORD }).expect(200);
    const after = await storedHash(user.email);
    expect(after).toMatch(/^\$2b\$05\$/);
    expect(after).not.toBe(before);

    // The new hash is the same password: it logs in again, and is not re-hashed again.
    await request(app.url).post('/auth/login').send({ email: user.email, password: GOOD_PASSWORD }).expect(200);
    expect(await storedHash(user.email)).toBe(after);
  });
});
