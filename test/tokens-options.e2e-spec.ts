import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import request from 'supertest';
import { GOOD_PASSWORD, register, uniqueEmail } from './support/api';
import { CapturedLogs, startApp, TestApp } from './support/test-app';

// Passport strategies are registered process-wide by name, so each app here lives
// alone: started and stopped within its own describe block.

describe('expiry', () => {
  let shortLived: TestApp;

  beforeAll(async () => {
    shortLived = await startApp({ JWT_REFRESH_TTL: '1s' });
  });

  afterAll(async () => {
    await shortLived?.close();
  });

  it('answers 401 for an expired refresh token', async () => {
    const user = await register(shortLived);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const response = await request(shortLived.url).post('/auth/refresh').send({ refreshToken: user.refreshToken }).expect(401);
    expect(response.body.code).toBe('refresh_token_invalid');
  });
});

describe('AUTH_COOKIES=true', () => {
  let cookieApp: TestApp;

  beforeAll(async () => {
    cookieApp = await startApp({ AUTH_COOKIES: 'true', JWT_REFRESH_REUSE_INTERVAL: '0' });
  });

  afterAll(async () => {
    await cookieApp?.close();
  });

  function refreshCookie(response: request.Response): string {
    const header = ([] as string[]).concat(response.headers['set-cookie'] ?? []).find((c) => c.startsWith('refresh_token='));
    expect(header, 'refresh_token cookie').toBeDefined();
    return header!;
  }

  it('sets the refresh token as an HttpOnly, Secure, SameSite=Strict cookie on /auth, and reads it back', async () => {
    const email = uniqueEmail('cookie');
    const registered = await request(cookieApp.url).post('/auth/register').send({ email, password: GOOD_PASSWORD }).expect(201);
    const cookie = refreshCookie(registered);
    expect(registered.body).not.toHaveProperty('refreshToken'); // in the cookie only
    expect(cookie).toMatch(/^refresh_token=rt_/);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/Secure/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    expect(cookie).toMatch(/Path=\/auth(;|$)/);

    const loggedIn = await request(cookieApp.url).post('/auth/login').send({ email, password: GOOD_PASSWORD }).expect(200);
    const loginCookie = refreshCookie(loggedIn).split(';')[0];

    const refreshed = await request(cookieApp.url).post('/auth/refresh').set('Cookie', loginCookie).expect(200);
    const next = refreshCookie(refreshed).split(';')[0];
    expect(refreshed.body).not.toHaveProperty('refreshToken');
    expect(next).toMatch(/^refresh_token=rt_/);
    expect(next).not.toBe(loginCookie);
    await request(cookieApp.url).post('/auth/refresh').set('Cookie', loginCookie).expect(401); // spent

    const loggedOut = await request(cookieApp.url).post('/auth/logout').set('Cookie', next).expect(204);
    expect(refreshCookie(loggedOut)).toMatch(/refresh_token=;|Max-Age=0|Expires=Thu, 01 Jan 1970/i);
    await request(cookieApp.url).post('/auth/refresh').set('Cookie', next).expect(401);
    // The register session is untouched by the other session's logout.
    await request(cookieApp.url).post('/auth/refresh').set('Cookie', cookie.split(';')[0]).expect(200);
  });

  it('answers 401 for a refresh without body token or cookie, and 204 for such a logout', async () => {
    const refused = await request(cookieApp.url).post('/auth/refresh').expect(401);
    expect(refused.body.code).toBe('refresh_token_invalid');
    await request(cookieApp.url).post('/auth/logout').expect(204);
  });
});


describe('reuse detection', () => {
  let app: TestApp;
  const logger = new CapturedLogs();

  beforeAll(async () => {
    app = await startApp({ JWT_REFRESH_REUSE_INTERVAL: '0' }, undefined, logger);
  });

  afterAll(async () => {
    await app?.close();
  });

  it('logs a security event with user, session and IP, and never the token', async () => {
    const user = await register(app);
    const rotated = await request(app.url).post('/auth/refresh').send({ refreshToken: user.refreshToken }).expect(200);
    const replay = await request(app.url).post('/auth/refresh').send({ refreshToken: user.refreshToken }).expect(401);
    const events = logger.entries().filter((entry) => entry.event === 'refresh_token_reuse');
    expect(events).toHaveLength(1);
    const [session] = await app.dataSource.query('SELECT id FROM sessions WHERE user_id = $1', [user.user.id]);
    expect(events[0]).toMatchObject({
      level: 40,
      context: 'Security',
      event: 'refresh_token_reuse',
      userId: user.user.id,
      sessionId: session.id,
      ip: '127.0.0.1',
    });
    // The line names the request it is about, by the id its response carried.
    expect(events[0].reqId).toBe(replay.headers['x-request-id']);
    const everything = logger.lines.join('\n');
    for (const secret of [user.refreshToken!, rotated.body.refreshToken, user.accessToken, GOOD_PASSWORD]) {
      expect(everything).not.toContain(secret);
    }
  });

  it('a refresh while the database is down answers 503 with Retry-After and does not spend the token', async () => {
    const user = await register(app);
    await app.dataSource.destroy();
    try {
      const down = await request(app.url).post('/auth/refresh').send({ refreshToken: user.refreshToken });
      expect(down.status).toBe(503);
      expect(down.body.code).toBe('database_unavailable');
      expect(down.headers['retry-after']).toBe('5');
    } finally {
      await app.dataSource.initialize();
    }
    await request(app.url).post('/auth/refresh').send({ refreshToken: user.refreshToken }).expect(200);
  });
});
