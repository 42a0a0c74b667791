import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import type { ClientInfo } from '../src/common/auth';
import { RefreshTokensService } from '../src/tokens/refresh-tokens.service';
import { authed, GOOD_PASSWORD, register, Registered, uniqueEmail } from './support/api';
import { startApp, TestApp } from './support/test-app';

let app: TestApp;

// Exactly-one-wins rotation: a spent token presented again is reuse at once (test/sessions.e2e-spec.ts has the reuse interval).
beforeAll(async () => {
  app = await startApp({ JWT_REFRESH_REUSE_INTERVAL: '0' });
});

afterAll(async () => {
  await app?.close();
});

const refresh = (token: string) => request(app.url).post('/auth/refresh').send({ refreshToken: token });
const login = (email: string, agent = 'test-agent/1.0') =>
  request(app.url).post('/auth/login').set('User-Agent', agent).send({ email, password: GOOD_PASSWORD }).expect(200);

async function expectRefreshRefused(token: string, code = 'refresh_token_invalid') {
  const response = await refresh(token);
  expect(response.status).toBe(401);
  expect(response.body).toMatchObject({ statusCode: 401, error: 'Unauthorized', code });
}

describe('POST /auth/refresh', () => {
  it('returns a new token pair in the same session and spends the presented token', async () => {
    const user = await register(app);
    expect(user.refreshToken).toMatch(/^rt_[A-Za-z0-9_-]{43}$/);
    const response = await refresh(user.refreshToken!).expect(200);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(Object.keys(response.body).sort()).toEqual(['accessToken', 'expiresIn', 'refreshToken', 'tokenType', 'user']);
    expect(response.body.refreshToken).not.toBe(user.refreshToken);
    expect(response.body.accessToken).not.toBe(user.accessToken);
    expect(response.body.user).toEqual(user.user);
    await authed(app, 'get', '/users/me', response.body.accessToken).expect(200);
    await refresh(response.body.refreshToken).expect(200); // the new one works once
    const sessions = await authed(app, 'get', '/auth/sessions', response.body.accessToken).expect(200);
    expect(sessions.body).toHaveLength(1); // rotation stays in one session
  });

  it('stores only a SHA-256 hash of the token', async () => {
    const user = await register(app);
    const rows = await app.dataSource.query(
      'SELECT token_hash FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id WHERE s.user_id = $1',
      [user.user.id],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0].token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(rows)).not.toContain(user.refreshToken!.slice(3));
  });

  it('treats a spent token presented again as reuse: 401 refresh_token_reused, and the whole session dies', async () => {
    const victim = await register(app);
    const other = await login(victim.email); // another session of the same user
    const rotated = await refresh(victim.refreshToken!).expect(200);
    await expectRefreshRefused(victim.refreshToken!, 'refresh_token_reused'); // the thief replays the spent token
    await expectRefreshRefused(rotated.body.refreshToken); // the victim's newest token is dead too
    const reasons = await app.dataSource.query('SELECT revoked_reason FROM sessions WHERE user_id = $1 ORDER BY created_at', [victim.user.id]);
    expect(reasons).toEqual([{ revoked_reason: 'reuse_detected' }, { revoked_reason: null }]);
    await refresh(other.body.refreshToken).expect(200); // the user's other session is untouched
  });

  it('of 20 concurrent refreshes with one token, exactly one succeeds and none fails with a 5xx', async () => {
    const user = await register(app);
    const responses = await Promise.all(Array.from({ length: 20 }, () => refresh(user.refreshToken!)));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 401)).toHaveLength(19);
    const [{ count }] = await app.dataSource.query(
      `SELECT count(*)::int AS count FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id
        WHERE s.user_id = $1 AND t.parent_id IS NOT NULL`,
      [user.user.id],
    );
    expect(count).toBe(1); // one successor, not twenty
  });

  it.each([
    ['an unknown token', 'rt_' + 'A'.repeat(43)],
    ['an access token', ''],
    ['garbage', 'not a token at all'],
  ])('answers 401 refresh_token_invalid for %s', async (name, token) => {
    const user = await register(app);
    await expectRefreshRefused(name === 'an access token' ? user.accessToken : token);
  });

  it.each([
    ['a missing refreshToken', {}],
    ['a number', { refreshToken: 42 }],
    ['an object', { refreshToken: { $ne: null } }],
    ['null', { refreshToken: null }],
    ['an unknown property', { refreshToken: 'rt_x', extra: 1 }],
  ])('answers 400 for %s', async (_, body) => {
    const response = await request(app.url).post('/auth/refresh').send(body).expect(400);
    expect(response.body.code).toBe('validation_failed');
  });

  it('never accepts a refresh token as a Bearer token', async () => {
    const user = await register(app);
    const response = await authed(app, 'get', '/users/me', user.refreshToken!).expect(401);
    expect(response.body.code).toBe('token_invalid');
    expect(response.headers['www-authenticate']).toMatch(/^Bearer/);
  });
});

describe('logout', () => {
  it('POST /auth/logout answers 204 and ends that session only', async () => {
    const user = await register(app);
    const second = await login(user.email);
    await request(app.url).post('/auth/logout').send({ refreshToken: user.refreshToken }).expect(204);
    await expectRefreshRefused(user.refreshToken!);
    await refresh(second.body.refreshToken).expect(200);
  });

  it('with a spent token of the session, ends the session', async () => {
    const user = await register(app);
    const rotated = await refresh(user.refreshToken!).expect(200);
    await request(app.url).post('/auth/logout').send({ refreshToken: user.refreshToken }).expect(204);
    await expectRefreshRefused(rotated.body.refreshToken);
  });

  it('answers 204 for an unknown token and 400 only for a malformed body', async () => {
    await request(app.url).post('/auth/logout').send({ refreshToken: 'rt_unknown' }).expect(204);
    await request(app.url).post('/auth/logout').send({ refreshToken: 7 }).expect(400);
    await request(app.url).post('/auth/logout').send({}).expect(400);
  });

  it('POST /auth/logout-all revokes every refresh token of the user and no one else\'s', async () => {
    const user = await register(app);
    const second = await login(user.email);
    const bystander = await register(app);
    await authed(app, 'post', '/auth/logout-all', user.accessToken).expect(204);
    await expectRefreshRefused(user.refreshToken!);
    await expectRefreshRefused(second.body.refreshToken);
    await refresh(bystander.refreshToken!).expect(200);
    await request(app.url).post('/auth/logout-all').expect(401);
  });
});

describe('sessions', () => {
  it('GET /auth/sessions lists the live sessions of the caller', async () => {
    const user = await register(app);
    await login(user.email, 'laptop-browser/2.0');
    const mine = await authed(app, 'get', '/auth/sessions', user.accessToken).expect(200);
    expect(mine.headers['cache-control']).toBe('no-store');
    expect(mine.body).toHaveLength(2);
    for (const session of mine.body) {
      expect(Object.keys(session).sort()).toEqual(['createdAt', 'expiresAt', 'id', 'ip', 'lastUsedAt', 'userAgent']);
      expect(session.ip).toMatch(/127\.0\.0\.1/);
      expect(new Date(session.expiresAt).getTime()).toBeGreaterThan(Date.now());
    }
    expect(mine.body.map((s: { userAgent: string }) => s.userAgent)).toContain('laptop-browser/2.0');
    await request(app.url).get('/auth/sessions').expect(401);
  });

  it('DELETE /auth/sessions/:id ends that session only; another user\'s session is 404', async () => {
    const user = await register(app);
    const second = await login(user.email);
    const stranger = await register(app);
    const [strangerSession] = (await authed(app, 'get', '/auth/sessions', stranger.accessToken).expect(200)).body;
    const response = await authed(app, 'delete', `/auth/sessions/${strangerSession.id}`, user.accessToken).expect(404);
    expect(response.body.code).toBe('not_found');
    await refresh(stranger.refreshToken!).expect(200); // untouched

    const sessions = (await authed(app, 'get', '/auth/sessions', user.accessToken).expect(200)).body;
    const secondRow = await app.dataSource.query('SELECT id FROM sessions WHERE user_id = $1 ORDER BY created_at DESC LIMIT 1', [user.user.id]);
    const target = sessions.find((s: { id: string }) => s.id === secondRow[0].id);
    await authed(app, 'delete', `/auth/sessions/${target.id}`, user.accessToken).expect(204);
    await expectRefreshRefused(second.body.refreshToken);
    await refresh(user.refreshToken!).expect(200);
    expect((await authed(app, 'get', '/auth/sessions', user.accessToken).expect(200)).body).toHaveLength(1);
    await authed(app, 'delete', `/auth/sessions/${target.id}`, user.accessToken).expect(404); // already ended
    await authed(app, 'delete', '/auth/sessions/not-a-uuid', user.accessToken).expect(400);
  });
});

describe('a session across refreshes', () => {
  it('keeps its id, amr and aal; moves lastUsedAt, expiresAt and the client it shows', async () => {
    const user = await register(app);
    const [opened] = (await authed(app, 'get', '/auth/sessions', user.accessToken).expect(200)).body;
    // As a second factor will have left it, and an hour old.
    await app.dataSource.query(
      `UPDATE sessions SET amr = '{pwd,otp}', aal = 2, last_used_at = now() - interval '1 hour',
                           expires_at = expires_at - interval '1 hour' WHERE id = $1`,
      [opened.id],
    );
    const [before] = (await authed(app, 'get', '/auth/sessions', user.accessToken).expect(200)).body;
    const client: ClientInfo = { ip: '10.9.8.7', userAgent: 'phone-app/3.1', requestId: 'test' };
    const rotated = await app.app.get(RefreshTokensService).rotate(user.refreshToken!, client);
    expect(rotated).toMatchObject({ userId: user.user.id, sessionId: opened.id, amr: ['pwd', 'otp'], aal: 2 });
    const [after] = (await authed(app, 'get', '/auth/sessions', user.accessToken).expect(200)).body;
    expect(after.id).toBe(opened.id);
    expect(after.createdAt).toBe(opened.createdAt);
    const halfAnHour = 30 * 60 * 1000;
    expect(new Date(after.lastUsedAt).getTime()).toBeGreaterThan(new Date(before.lastUsedAt).getTime() + halfAnHour);
    expect(new Date(after.expiresAt).getTime()).toBeGreaterThan(new Date(before.expiresAt).getTime() + halfAnHour);
    expect([after.userAgent, after.ip]).toEqual(['phone-app/3.1', '10.9.8.7']);
    await refresh(rotated.refreshToken).expect(200);
  });

  it('DELETE /auth/sessions/:id answers 404 for a session that has expired (it is no longer listed)', async () => {
    const user = await register(app);
    const [session] = (await authed(app, 'get', '/auth/sessions', user.accessToken).expect(200)).body;
    await app.dataSource.query(`UPDATE sessions SET expires_at = now() - interval '1 second' WHERE id = $1`, [session.id]);
    expect((await authed(app, 'get', '/auth/sessions', user.accessToken).expect(200)).body).toEqual([]);
    await authed(app, 'delete', `/auth/sessions/${session.id}`, user.accessToken).expect(404);
    await expectRefreshRefused(user.refreshToken!);
  });
});

describe('POST /users/me/password', () => {
  it('changes the password and revokes every refresh token of the user', async () => {
    const user = await register(app);
    const second = await login(user.email);
    const newPassword = 'a brand new passphrase';
    await authed(app, 'post', '/users/me/password', user.accessToken)
      .send({ currentPassword: GOOD_PASSWORD, newPassword })
      .expect(204);
    await expectRefreshRefused(user.refreshToken!);
    await expectRefreshRefused(second.body.refreshToken);
    await request(app.url).post('/auth/login').send({ email: user.email, password: GOOD_PASSWORD }).expect(401);
    await request(app.url).post('/auth/login').send({ email: user.email, password: newPassword }).expect(200);
  });

  it('answers 403 invalid_credentials for a wrong current password, changing nothing', async () => {
    const user = await register(app);
    const response = await authed(app, 'post', '/users/me/password', user.accessToken)
      .send({ currentPassword: 'not my password', newPassword: 'another fine passphrase' })
      .expect(403);
    expect(response.body.code).toBe('invalid_credentials');
    await refresh(user.refreshToken!).expect(200);
    await request(app.url).post('/auth/login').send({ email: user.email, password: GOOD_PASSWORD }).expect(200);
  });

  it.each([
    ['a new password outside the policy', { currentPassword: GOOD_PASSWORD, newPassword: 'short' }],
    ['a common new password', { currentPassword: GOOD_PASSWORD, newPassword: 'password123' }],
    ['a missing field', { currentPassword: GOOD_PASSWORD }],
    ['a number', { currentPassword: GOOD_PASSWORD, newPassword: 123456789 }],
  ])('answers 400 for %s', async (_, body) => {
    const user = await register(app);
    const response = await authed(app, 'post', '/users/me/password', user.accessToken).send(body).expect(400);
    expect(response.body.code).toBe('validation_failed');
    await refresh(user.refreshToken!).expect(200);
  });

  it('answers 401 without a token', async () => {
    await request(app.url).post('/users/me/password').send({ currentPassword: 'a', newPassword: 'b' }).expect(401);
  });
});

describe('stateless access tokens', () => {
  it('a protected route makes no database query for the token itself', async () => {
    const user = await register(app);
    const queries: string[] = [];
    const logger = app.dataSource.logger;
    const counting = Object.create(logger) as typeof logger;
    // The workers' polls and the revocation sweep run on their own timers and may land inside a request.
    const background = /\b(mail_outbox|email_requests|user_token_cutoffs)\b/;
    counting.logQuery = (query: string) => void (background.test(query) || queries.push(query));
    (app.dataSource as unknown as { logger: typeof logger }).logger = counting;
    try {
      await authed(app, 'get', '/auth/sessions', user.accessToken).expect(200);
      expect(queries).toHaveLength(1); // the session list itself
      queries.length = 0;
      await authed(app, 'get', '/users/me', user.accessToken).expect(200);
      expect(queries).toHaveLength(1); // the user row itself
      expect(queries[0]).toMatch(/FROM "users"/);
      queries.length = 0;
      await authed(app, 'get', '/users/me', 'x.y.z').expect(401);
      expect(queries).toHaveLength(0);
    } finally {
      (app.dataSource as unknown as { logger: typeof logger }).logger = logger;
    }
  });
});

describe('purge', () => {
  const purge = () => app.app.get(RefreshTokensService).purgeExpired();
  const sessionsOf = async (userId: string) =>
    (await app.dataSource.query('SELECT count(*)::int AS count FROM sessions WHERE user_id = $1', [userId]))[0].count;
  const tokensOf = async (userId: string) =>
    (
      await app.dataSource.query(
        'SELECT count(*)::int AS count FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id WHERE s.user_id = $1',
        [userId],
      )
    )[0].count;

  it('deletes sessions expired or revoked longer than an access token lives, with their tokens, and nothing else', async () => {
    const expired = await register(app); // expired long ago: purged
    const justExpired = await register(app); // expired a minute ago: its last access token may still live, kept
    const revoked = await register(app); // revoked long ago: purged
    const justRevoked = await register(app); // revoked just now: its revocation must be remembered, kept
    const live = await register(app);
    const liveRotated = await refresh(live.refreshToken!).expect(200); // a spent token in a live session
    await refresh(expired.refreshToken!).expect(200);
    await app.dataSource.query(`UPDATE sessions SET expires_at = now() - interval '1 day' WHERE user_id = $1`, [expired.user.id]);
    await app.dataSource.query(`UPDATE sessions SET expires_at = now() - interval '1 minute' WHERE user_id = $1`, [justExpired.user.id]);
    await authed(app, 'post', '/auth/logout-all', revoked.accessToken).expect(204);
    await app.dataSource.query(`UPDATE sessions SET revoked_at = now() - interval '1 day' WHERE user_id = $1`, [revoked.user.id]);
    await authed(app, 'post', '/auth/logout-all', justRevoked.accessToken).expect(204);
    // The spent token of the live session is past its own expiry, its successor is not.
    await app.dataSource.query(
      `UPDATE refresh_tokens SET expires_at = now() - interval '1 day'
        WHERE spent_at IS NOT NULL AND session_id IN (SELECT id FROM sessions WHERE user_id = $1)`,
      [live.user.id],
    );

    expect(await purge()).toBe(2);
    expect([await sessionsOf(expired.user.id), await tokensOf(expired.user.id)]).toEqual([0, 0]);
    expect([await sessionsOf(revoked.user.id), await tokensOf(revoked.user.id)]).toEqual([0, 0]);
    expect(await sessionsOf(justExpired.user.id)).toBe(1);
    expect(await sessionsOf(justRevoked.user.id)).toBe(1);
    expect([await sessionsOf(live.user.id), await tokensOf(live.user.id)]).toEqual([1, 2]);
    expect(await purge()).toBe(0);
    // The kept spent token is still recognised as reuse.
    await expectRefreshRefused(live.refreshToken!, 'refresh_token_reused');
    await expectRefreshRefused(liveRotated.body.refreshToken);
  });
});

describe('without AUTH_COOKIES', () => {
  it('sets no cookie and ignores one', async () => {
    const user: Registered = await register(app);
    const response = await request(app.url).post('/auth/login').send({ email: user.email, password: GOOD_PASSWORD }).expect(200);
    expect(response.headers['set-cookie']).toBeUndefined();
    await request(app.url).post('/auth/refresh').set('Cookie', `refresh_token=${response.body.refreshToken}`).send({}).expect(400);
  });
});
