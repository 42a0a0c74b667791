import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authed, GOOD_PASSWORD, register, Registered, uniqueEmail } from './support/api';
import { createTestDatabase, startApp, TestApp } from './support/test-app';

// Passport strategies are process-wide: one app alive at a time, each in its own block.

const login = (app: TestApp, email: string, password: string, headers: Record<string, string> = {}) =>
  request(app.url).post('/auth/login').set(headers).send({ email, password });

const changePassword = (app: TestApp, user: Registered, currentPassword: string, newPassword = 'a brand new passphrase') =>
  authed(app, 'post', '/users/me/password', user.accessToken).send({ currentPassword, newPassword });

function expect429(response: request.Response, maxSeconds: number) {
  expect(response.status).toBe(429);
  expect(response.body).toMatchObject({ statusCode: 429, code: 'rate_limited', error: 'Too Many Requests' });
  const retryAfter = Number(response.headers['retry-after']);
  expect(retryAfter).toBeGreaterThan(0);
  expect(retryAfter).toBeLessThanOrEqual(maxSeconds);
}

function statusCounts(responses: request.Response[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const { status } of responses) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}

describe('per client IP, TRUST_PROXY off', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startApp({ AUTH_RATE_LIMIT: '3', AUTH_RATE_WINDOW: '60', LOGIN_BACKOFF_THRESHOLD: '1000' });
  });
  afterAll(() => app?.close());

  it.each([
    ['X-Forwarded-For', (i: number) => ({ 'X-Forwarded-For': `203.0.113.${i}` })],
    ['X-Real-IP', (i: number) => ({ 'X-Real-IP': `198.51.100.${i}` })],
    ['Forwarded', (i: number) => ({ Forwarded: `for=192.0.2.${i}` })],
  ])('counts a client that rotates %s as one: 429 with Retry-After', async (header, headers) => {
    // All requests come from one socket address. If a forged header were believed, every
    // request here would name a new client with a fresh budget and none would get 429.
    const statuses: number[] = [];
    for (let i = 0; i < 5; i += 1) statuses.push((await login(app, 'nobody@example.com', 'wrong password', headers(i))).status);
    expect(statuses.slice(-1)[0], header).toBe(429);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(3);
    expect429(await login(app, 'nobody@example.com', 'x', headers(99)), 60);
  });

  it('limits registrations per IP too', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i += 1) {
      statuses.push((await request(app.url).post('/auth/register').set('X-Forwarded-For', `203.0.113.${i}`).send({ email: uniqueEmail(), password: GOOD_PASSWORD })).status);
    }
    expect(statuses).toEqual([201, 201, 201, 429]);
  });

  it('says "Too Many Requests", naming no library', async () => {
    const response = await login(app, 'nobody@example.com', 'x');
    expect429(response, 60);
    expect(response.body.message).toBe('Too Many Requests');
  });
});

describe('POST /users/me/password: per client IP', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startApp({ AUTH_RATE_LIMIT: '3', LOGIN_BACKOFF_THRESHOLD: '1000' });
  });
  afterAll(() => app?.close());

  it('limits password checks per IP, as login: 100 guesses are not 100 tries', async () => {
    // Register and log in are limited on their own budgets: the password route has one of its own.
    const users = [await register(app), await register(app)];
    const statuses: number[] = [];
    for (let i = 0; i < 4; i += 1) statuses.push((await changePassword(app, users[i % 2], `wrong guess ${i}`)).status);
    expect(statuses).toEqual([403, 403, 403, 429]);
    const limited = await changePassword(app, users[0], GOOD_PASSWORD);
    expect429(limited, 60);
    expect(limited.body.message).toBe('Too Many Requests');
  });
});

describe('POST /users/me/password: per-account back-off', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startApp({ LOGIN_BACKOFF_THRESHOLD: '3', LOGIN_BACKOFF_MAX: '2s' });
  });
  afterAll(() => app?.close());

  it('answers wrong current passwords 403, then 429 with Retry-After (even the right one waits), and no other account; a success resets', async () => {
    const victim = await register(app);
    const bystander = await register(app);
    for (let i = 0; i < 3; i += 1) {
      const wrong = await changePassword(app, victim, `wrong guess ${i}`);
      expect(wrong.status).toBe(403);
      expect(wrong.body.code).toBe('invalid_credentials');
    }
    const blocked = await changePassword(app, victim, GOOD_PASSWORD);
    expect429(blocked, 2); // blocked: the password is not even checked, nor changed
    expect(blocked.body.message).toMatch(/wrong passwords/);
    await login(app, victim.email, GOOD_PASSWORD).expect(200); // logging in is not the same count
    expect((await changePassword(app, bystander, 'wrong guess')).status).toBe(403);

    await new Promise((resolve) => setTimeout(resolve, 2100)); // the back-off is capped at LOGIN_BACKOFF_MAX
    await changePassword(app, victim, GOOD_PASSWORD, 'the second passphrase').expect(204);
    // A success resets the count: after it, wrong passwords are ordinary 403s again, up to the threshold.
    const again = (await login(app, victim.email, 'the second passphrase').expect(200)).body.accessToken as string;
    const renewed = { ...victim, accessToken: again };
    for (let i = 0; i < 3; i += 1) expect((await changePassword(app, renewed, `wrong again ${i}`)).status).toBe(403);
    expect429(await changePassword(app, renewed, 'the second passphrase'), 2);
  });
});

describe('per client IP, TRUST_PROXY=true (behind a load balancer)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startApp({ AUTH_RATE_LIMIT: '2', TRUST_PROXY: 'true', LOGIN_BACKOFF_THRESHOLD: '1000' });
  });
  afterAll(() => app?.close());

  it('counts each client named by X-Forwarded-For separately', async () => {
    for (let i = 0; i < 2; i += 1) expect((await login(app, 'a@example.com', 'wrong!', { 'X-Forwarded-For': '203.0.113.1' })).status).toBe(401);
    expect429(await login(app, 'a@example.com', 'wrong!', { 'X-Forwarded-For': '203.0.113.1' }), 60);
    expect((await login(app, 'b@example.com', 'wrong!', { 'X-Forwarded-For': '203.0.113.2' })).status).toBe(401);
  });
});

describe('per-account back-off', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startApp({ LOGIN_BACKOFF_THRESHOLD: '3', LOGIN_BACKOFF_MAX: '2s' });
  });
  afterAll(() => app?.close());

  it('after repeated failures slows that account down (even the right password waits), briefly, and no other account', async () => {
    const victim = await register(app);
    const bystander = await register(app);
    for (let i = 0; i < 3; i += 1) expect((await login(app, victim.email, 'wrong password')).status).toBe(401);
    expect429(await login(app, victim.email, GOOD_PASSWORD), 2); // blocked: the password is not even checked
    await login(app, bystander.email, GOOD_PASSWORD).expect(200);
    await new Promise((resolve) => setTimeout(resolve, 2100)); // the back-off is capped at LOGIN_BACKOFF_MAX
    await login(app, victim.email, GOOD_PASSWORD).expect(200);
    // A success resets the count: the next failure is an ordinary 401.
    expect((await login(app, victim.email, 'wrong password')).status).toBe(401);
  });

  it('checks a burst of concurrent wrong passwords no more often than the same passwords one after another', async () => {
    const victim = await register(app);
    const logins = await Promise.all(Array.from({ length: 20 }, () => login(app, victim.email, 'wrong password')));
    expect(statusCounts(logins)).toEqual({ 401: 3, 429: 17 });
    const checks = await Promise.all(Array.from({ length: 20 }, () => changePassword(app, victim, 'wrong guess')));
    expect(statusCounts(checks)).toEqual({ 403: 3, 429: 17 });
  });

  it('treats an unknown email like a known one (no enumeration through the back-off)', async () => {
    const ghost = uniqueEmail('ghost');
    for (let i = 0; i < 3; i += 1) expect((await login(app, ghost, 'wrong password')).status).toBe(401);
    expect429(await login(app, ghost, 'wrong password'), 2);
  });
});

describe('REDIS_URL: counters shared by every instance', () => {
  const prefix = `e2e:${randomBytes(6).toString('hex')}:`;
  const redis = new Redis('redis://127.0.0.1:6379');
  const env = { REDIS_URL: 'redis://127.0.0.1:6379', REDIS_KEY_PREFIX: prefix, AUTH_RATE_LIMIT: '3', LOGIN_BACKOFF_THRESHOLD: '2', LOGIN_BACKOFF_MAX: '30s' };

  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  it('an IP limit and an account back-off started on one instance hold on the next', async () => {
    const db = await createTestDatabase();
    try {
      const first = await startApp(env, db);
      const user = await register(first); // 1 of the register budget
      // One failure of each kind here: under the threshold (2), nothing is blocked yet.
      expect((await login(first, user.email, 'wrong password')).status).toBe(401);
      expect((await changePassword(first, user, 'wrong guess')).status).toBe(403);
      await first.stop();
      expect((await redis.keys(`${prefix}*`)).length).toBeGreaterThan(0);
      expect(await redis.keys(`${prefix}current-password:*`)).not.toHaveLength(0);

      const second = await startApp(env, db); // another instance: a fresh process would see the same
      try {
        // A second failure on this instance reaches the threshold only with the first one's count:
        // the account is then blocked (counted apart, each instance would still be at one).
        expect((await login(second, user.email, 'wrong password')).status).toBe(401);
        expect429(await login(second, user.email, GOOD_PASSWORD), 30);
        expect((await changePassword(second, user, 'wrong guess')).status).toBe(403);
        expect429(await changePassword(second, user, GOOD_PASSWORD), 30);
        await request(second.url).post('/auth/register').send({ email: uniqueEmail(), password: GOOD_PASSWORD }).expect(201);
        await request(second.url).post('/auth/register').send({ email: uniqueEmail(), password: GOOD_PASSWORD }).expect(201);
        expect429(await request(second.url).post('/auth/register').send({ email: uniqueEmail(), password: GOOD_PASSWORD }), 60);
      } finally {
        await second.stop();
      }
    } finally {
      await db.drop();
    }
  });

  it('checks a burst of concurrent wrong passwords no more often than the threshold, in Redis as in memory', async () => {
    const app = await startApp({ ...env, REDIS_KEY_PREFIX: `${prefix}burst:`, AUTH_RATE_LIMIT: '1000' }); // only the back-off limits
    try {
      const user = await register(app);
      const logins = await Promise.all(Array.from({ length: 20 }, () => login(app, user.email, 'wrong password')));
      expect(statusCounts(logins)).toEqual({ 401: 2, 429: 18 });
    } finally {
      await app.close();
    }
  });
});
