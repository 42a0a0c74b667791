import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { authed, GOOD_PASSWORD, register, Registered, uniqueEmail } from './support/api';
import { accessClaims, ACCESS_HEADER, decodeJwt, signJwt } from './support/jwt';
import { createTestDatabase, startApp, TestApp, TestDatabase } from './support/test-app';

/**
 * The contract's Sessions section: every access token names its session (`sid`), ending a
 * session revokes its access tokens at once (401 token_revoked), a role change revokes the
 * user's earlier tokens, and racing refreshes within JWT_REFRESH_REUSE_INTERVAL (default
 * 10 s) end in one live session instead of a logout.
 */
let app: TestApp;
let admin: Registered;

const ADMIN = { email: uniqueEmail('admin'), password: 'an admin passphrase for the sessions tests' };

beforeAll(async () => {
  app = await startApp({ ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password });
  const response = await request(app.url).post('/auth/login').send(ADMIN).expect(200);
  admin = { ...ADMIN, ...response.body };
});

afterAll(async () => {
  await app?.close();
});

const refresh = (token: string) => request(app.url).post('/auth/refresh').send({ refreshToken: token });
const login = (email: string) => request(app.url).post('/auth/login').send({ email, password: GOOD_PASSWORD }).expect(200);

async function expectRevoked(token: string, path = '/auth/sessions') {
  const response = await authed(app, 'get', path, token);
  expect(response.status).toBe(401);
  expect(response.body.code).toBe('token_revoked');
  expect(response.headers['www-authenticate']).toMatch(/^Bearer/);
}

/** Moves a spent token's spend back in time, as if it had been rotated that long ago. */
async function spentSecondsAgo(token: string, seconds: number) {
  const { createHash } = await import('node:crypto');
  await app.dataSource.query(`UPDATE refresh_tokens SET spent_at = now() - make_interval(secs => $2) WHERE token_hash = $1`, [
    createHash('sha256').update(token).digest('hex'),
    seconds,
  ]);
}

describe('access tokens name their session', () => {
  it('carry sid (the id GET /auth/sessions shows), amr and aal; a refreshed token keeps them', async () => {
    const user = await register(app);
    const claims = decodeJwt(user.accessToken).payload;
    const sessions = await authed(app, 'get', '/auth/sessions', user.accessToken).expect(200);
    expect(sessions.body.map((session: { id: string }) => session.id)).toEqual([claims.sid]);
    expect(claims).toMatchObject({ sub: user.user.id, amr: ['pwd'], aal: 1 });
    const refreshed = decodeJwt((await refresh(user.refreshToken!).expect(200)).body.accessToken).payload;
    expect(refreshed).toMatchObject({ sid: claims.sid, amr: ['pwd'], aal: 1 });
  });

  it('a validly signed token without sid is refused (401 token_invalid)', async () => {
    const user = await register(app);
    const token = signJwt(ACCESS_HEADER, accessClaims(user.user.id, ['user'], { sid: undefined }));
    const response = await authed(app, 'get', '/auth/sessions', token).expect(401);
    expect(response.body.code).toBe('token_invalid');
  });

  it('a validly signed token naming a session that never existed: 401 token_revoked where the user is loaded, never a 5xx', async () => {
    const user = await register(app);
    const token = signJwt(ACCESS_HEADER, accessClaims(user.user.id));
    const response = await authed(app, 'get', '/users/me', token);
    expect(response.status).toBe(401);
    expect(response.body.code).toBe('token_revoked');
  });
});

describe('ending a session revokes its access tokens at once', () => {
  it('POST /auth/logout: that session\'s access tokens get 401 token_revoked; the other session\'s still work', async () => {
    const user = await register(app);
    const second = await login(user.email);
    await request(app.url).post('/auth/logout').send({ refreshToken: user.refreshToken }).expect(204);
    await expectRevoked(user.accessToken);
    await authed(app, 'get', '/auth/sessions', second.body.accessToken).expect(200);
  });

  it('DELETE /auth/sessions/:id: that session only', async () => {
    const user = await register(app);
    const second = await login(user.email);
    const sid = decodeJwt(second.body.accessToken).payload.sid;
    await authed(app, 'delete', `/auth/sessions/${sid}`, user.accessToken).expect(204);
    await expectRevoked(second.body.accessToken);
    await authed(app, 'get', '/auth/sessions', user.accessToken).expect(200);
  });

  it('POST /auth/logout-all: every session of the user, no one else\'s', async () => {
    const user = await register(app);
    const second = await login(user.email);
    const bystander = await register(app);
    await authed(app, 'post', '/auth/logout-all', user.accessToken).expect(204);
    await expectRevoked(user.accessToken);
    await expectRevoked(second.body.accessToken);
    await authed(app, 'get', '/auth/sessions', bystander.accessToken).expect(200);
  });

  it('POST /users/me/password: every session of the user', async () => {
    const user = await register(app);
    const second = await login(user.email);
    await authed(app, 'post', '/users/me/password', user.accessToken)
      .send({ currentPassword: GOOD_PASSWORD, newPassword: 'a brand new passphrase' })
      .expect(204);
    await expectRevoked(user.accessToken, '/users/me');
    await expectRevoked(second.body.accessToken);
  });

  it('reuse detection (a spent token presented after the interval): that session\'s access tokens', async () => {
    const user = await register(app);
    const rotated = await refresh(user.refreshToken!).expect(200);
    await spentSecondsAgo(user.refreshToken!, 11);
    const replay = await refresh(user.refreshToken!).expect(401);
    expect(replay.body.code).toBe('refresh_token_reused');
    await expectRevoked(rotated.body.accessToken);
    await expectRevoked(user.accessToken);
    await refresh(rotated.body.refreshToken).expect(401);
  });
});

describe('a role change revokes the user\'s earlier access tokens', () => {
  it('a demoted admin\'s token no longer reaches admin routes (401 token_revoked); a refresh carries the new roles', async () => {
    const other = await register(app);
    await authed(app, 'patch', `/users/${other.user.id}/roles`, admin.accessToken).send({ roles: ['user', 'admin'] }).expect(200);
    await expectRevoked(other.accessToken); // issued before the promotion
    const promoted = await refresh(other.refreshToken!).expect(200);
    expect(decodeJwt(promoted.body.accessToken).payload.roles).toEqual(['user', 'admin']);
    await authed(app, 'get', '/users', promoted.body.accessToken).expect(200);

    await authed(app, 'patch', `/users/${other.user.id}/roles`, admin.accessToken).send({ roles: ['user'] }).expect(200);
    const attempt = await authed(app, 'patch', `/users/${other.user.id}/roles`, promoted.body.accessToken).send({ roles: ['user', 'admin'] });
    expect(attempt.status).toBe(401);
    expect(attempt.body.code).toBe('token_revoked');
    const demoted = await refresh(promoted.body.refreshToken).expect(200);
    expect(decodeJwt(demoted.body.accessToken).payload.roles).toEqual(['user']);
    await authed(app, 'get', '/users', demoted.body.accessToken).expect(403);
    await authed(app, 'get', '/auth/sessions', demoted.body.accessToken).expect(200); // issued after the change: accepted at once
  });

  it('setting the same roles again revokes nothing', async () => {
    const other = await register(app);
    await authed(app, 'patch', `/users/${other.user.id}/roles`, admin.accessToken).send({ roles: ['user'] }).expect(200);
    await authed(app, 'get', '/auth/sessions', other.accessToken).expect(200);
  });
});

describe('racing refreshes don\'t log anyone out (JWT_REFRESH_REUSE_INTERVAL, default 10 s)', () => {
  it('10 concurrent refreshes of one token: all 200 with the same, current refresh token; one live session', async () => {
    const user = await register(app);
    const responses = await Promise.all(Array.from({ length: 10 }, () => refresh(user.refreshToken!)));
    expect(responses.map((response) => response.status)).toEqual(Array(10).fill(200));
    const tokens = new Set(responses.map((response) => response.body.refreshToken as string));
    expect(tokens.size).toBe(1);
    const [current] = tokens;
    const sessions = await authed(app, 'get', '/auth/sessions', responses[0].body.accessToken).expect(200);
    expect(sessions.body).toHaveLength(1);
    for (const response of responses) await authed(app, 'get', '/auth/sessions', response.body.accessToken).expect(200);
    await refresh(current).expect(200); // the one live refresh token works
  });

  it('a token presented again within the interval gets the session\'s current token, however many rotations behind', async () => {
    const user = await register(app);
    const second = await refresh(user.refreshToken!).expect(200);
    const third = await refresh(second.body.refreshToken).expect(200);
    const late = await refresh(user.refreshToken!).expect(200);
    expect(late.body.refreshToken).toBe(third.body.refreshToken);
    expect(decodeJwt(late.body.accessToken).payload.sid).toBe(decodeJwt(third.body.accessToken).payload.sid);
    await refresh(third.body.refreshToken).expect(200);
  });

  it('not once the session has ended, even within the interval', async () => {
    const user = await register(app);
    const rotated = await refresh(user.refreshToken!).expect(200);
    await authed(app, 'post', '/auth/logout-all', rotated.body.accessToken).expect(204);
    const response = await refresh(user.refreshToken!).expect(401);
    expect(response.body.code).toBe('refresh_token_invalid');
  });

  it('after the interval it is reuse: 401 refresh_token_reused and the session dies', async () => {
    const user = await register(app);
    const rotated = await refresh(user.refreshToken!).expect(200);
    await spentSecondsAgo(user.refreshToken!, 11);
    expect((await refresh(user.refreshToken!).expect(401)).body.code).toBe('refresh_token_reused');
    expect((await refresh(rotated.body.refreshToken).expect(401)).body.code).toBe('refresh_token_invalid');
  });

  it('never stores a refresh token\'s plaintext: the current token is derived, not kept', async () => {
    const user = await register(app);
    const rotated = await refresh(user.refreshToken!).expect(200);
    const dump = JSON.stringify(
      await app.dataSource.query('SELECT t.* FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id WHERE s.user_id = $1', [user.user.id]),
    );
    expect(dump).not.toContain(rotated.body.refreshToken.slice(3));
    expect(dump).not.toContain(user.refreshToken!.slice(3));
  });
});

describe('JWT_REFRESH_REUSE_INTERVAL=0: exactly one of concurrent refreshes wins', () => {
  let strict: TestApp;
  beforeAll(async () => {
    strict = await startApp({ JWT_REFRESH_REUSE_INTERVAL: '0' });
  });
  afterAll(async () => {
    await strict?.close();
  });

  it('10 concurrent refreshes: one 200, nine 401', async () => {
    const user = await register(strict);
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => request(strict.url).post('/auth/refresh').send({ refreshToken: user.refreshToken })),
    );
    const statuses = responses.map((response) => response.status).sort();
    expect(statuses).toEqual([200, ...Array(9).fill(401)]);
  });
});

describe('a restarted instance remembers what was revoked', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('reloads ended sessions and role cut-offs at start', async () => {
    const ADMIN_ENV = { ADMIN_EMAIL: 'restart.admin@example.com', ADMIN_PASSWORD: 'restart admin passphrase' };
    const first = await startApp(ADMIN_ENV, database);
    const adminLogin = await request(first.url).post('/auth/login').send({ email: ADMIN_ENV.ADMIN_EMAIL, password: ADMIN_ENV.ADMIN_PASSWORD }).expect(200);
    const loggedOut = await register(first);
    const promoted = await register(first);
    await authed(first, 'post', '/auth/logout-all', loggedOut.accessToken).expect(204);
    await authed(first, 'patch', `/users/${promoted.user.id}/roles`, adminLogin.body.accessToken).send({ roles: ['user', 'admin'] }).expect(200);
    await first.stop();

    const second = await startApp(ADMIN_ENV, database);
    try {
      for (const token of [loggedOut.accessToken, promoted.accessToken]) {
        const response = await authed(second, 'get', '/auth/sessions', token);
        expect(response.status).toBe(401);
        expect(response.body.code).toBe('token_revoked');
      }
      await authed(second, 'get', '/auth/sessions', adminLogin.body.accessToken).expect(200);
    } finally {
      await second.stop();
    }
  });
});
