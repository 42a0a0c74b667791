import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { GOOD_PASSWORD, uniqueEmail } from './support/api';
import { decodeJwt } from './support/jwt';
import { startApp, TestApp } from './support/test-app';

/**
 * Every flow that exists writes its audit event, about the right user and by the right
 * actor, with the request's IP, user agent and id, read back through GET
 * /admin/audit-events?userId=&type= and the user's own GET /users/me/security-events; and
 * when the event cannot be written, the change it records is not made either.
 */

const ADMIN_EMAIL = `audit-flows-admin.${process.pid}@example.com`;
const ADMIN_PASSWORD = 'audit flows admin password';
const USER_AGENT = 'audit-flows-e2e/1.0';

interface Event {
  id: string;
  type: string;
  userId: string | null;
  actorId: string | null;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
  createdAt: string;
  data: Record<string, unknown>;
}

interface Account {
  id: string;
  email: string;
  accessToken: string;
  refreshToken: string;
}

let app: TestApp;
let admin: Account;
let requests = 0;

beforeAll(async () => {
  // Reuse is then any second presentation of a spent token.
  app = await startApp({ ADMIN_EMAIL, ADMIN_PASSWORD, JWT_REFRESH_REUSE_INTERVAL: '0' });
  admin = await logIn(ADMIN_EMAIL, ADMIN_PASSWORD);
});

afterAll(async () => {
  await app?.close();
});

const sql = <T = Record<string, any>>(query: string, parameters: unknown[] = []): Promise<T[]> => app.dataSource.query(query, parameters);

/** A request from this test's client: its user agent, a request id of its own (read back from the event), and a token. */
function call(method: 'get' | 'post' | 'patch' | 'delete', path: string, token?: string): request.Test & { requestId: string } {
  requests += 1;
  const requestId = `audit-flows-${process.pid}-${requests}`;
  const pending = request(app.url)[method](path).set('User-Agent', USER_AGENT).set('X-Request-Id', requestId);
  if (token) pending.set('Authorization', `Bearer ${token}`);
  return Object.assign(pending, { requestId });
}

function account(body: { accessToken: string; refreshToken: string; user: { id: string; email: string } }): Account {
  return { id: body.user.id, email: body.user.email, accessToken: body.accessToken, refreshToken: body.refreshToken };
}

async function signUp(): Promise<Account> {
  return account((await call('post', '/auth/register').send({ email: uniqueEmail('audited'), password: GOOD_PASSWORD }).expect(201)).body);
}

async function logIn(email: string, password = GOOD_PASSWORD): Promise<Account> {
  return account((await call('post', '/auth/login').send({ email, password }).expect(200)).body);
}

const sid = (token: string) => decodeJwt(token).payload.sid as string;

/** The events of this type about this user, newest first, as an admin reads them. */
async function eventsOf(userId: string | null, type: string): Promise<Event[]> {
  const query = new URLSearchParams({ type, limit: '100', ...(userId ? { userId } : {}) });
  return (await call('get', `/admin/audit-events?${query}`, admin.accessToken).expect(200)).body.items;
}

/** The one event of this type that the request with `requestId` wrote, checked for the request's client. */
async function eventOf(userId: string | null, type: string, requestId: string): Promise<Event> {
  const written = (await eventsOf(userId, type)).filter((event) => event.requestId === requestId);
  expect(written, `${type} of ${requestId}`).toHaveLength(1);
  const [event] = written;
  expect(event).toMatchObject({ type, userId, userAgent: USER_AGENT, requestId });
  expect(event.ip).toMatch(/127\.0\.0\.1/);
  return event;
}

describe('each flow records its event, in the transaction of its change', () => {
  it('POST /auth/register: user.registered, by the user, with the session it opened', async () => {
    const sent = call('post', '/auth/register');
    const body = (await sent.send({ email: uniqueEmail('registered'), password: GOOD_PASSWORD }).expect(201)).body;
    const event = await eventOf(body.user.id, 'user.registered', sent.requestId);
    expect(event).toMatchObject({ actorId: body.user.id, data: { sessionId: sid(body.accessToken) } });
  });

  it('POST /auth/login: user.login_succeeded, by the user, with the session and how it was authenticated', async () => {
    const user = await signUp();
    const sent = call('post', '/auth/login');
    const body = (await sent.send({ email: user.email, password: GOOD_PASSWORD }).expect(200)).body;
    const event = await eventOf(user.id, 'user.login_succeeded', sent.requestId);
    expect(event).toMatchObject({ actorId: user.id, data: { sessionId: sid(body.accessToken), amr: ['pwd'] } });
  });

  it('POST /auth/login: user.login_failed, about the account for a wrong password, about nobody for an unknown email, without the email', async () => {
    const user = await signUp();
    const wrong = call('post', '/auth/login');
    await wrong.send({ email: user.email, password: 'not the password at all' }).expect(401);
    expect(await eventOf(user.id, 'user.login_failed', wrong.requestId)).toMatchObject({ actorId: null, data: { reason: 'invalid_credentials' } });

    const unknownEmail = uniqueEmail('nobody-at-all');
    const unknown = call('post', '/auth/login');
    await unknown.send({ email: unknownEmail, password: 'whatever it may be' }).expect(401);
    expect(await eventOf(null, 'user.login_failed', unknown.requestId)).toMatchObject({ userId: null, actorId: null, data: { reason: 'invalid_credentials' } });
    const rows = await sql(`SELECT row_to_json(e)::text AS text FROM audit_events e`);
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(row.text.toLowerCase()).not.toContain(unknownEmail.toLowerCase());
  });

  it('POST /auth/login of a disabled account, with the right password: user.login_failed, account_disabled', async () => {
    const user = await signUp();
    await call('post', `/users/${user.id}/disable`, admin.accessToken).expect(200);
    const sent = call('post', '/auth/login');
    await sent.send({ email: user.email, password: GOOD_PASSWORD }).expect(403);
    expect(await eventOf(user.id, 'user.login_failed', sent.requestId)).toMatchObject({ actorId: null, data: { reason: 'account_disabled' } });
  });

  it('POST /auth/logout: session.logout, by the token\'s holder; an unknown or spent session records nothing', async () => {
    const user = await signUp();
    const sent = call('post', '/auth/logout');
    await sent.send({ refreshToken: user.refreshToken }).expect(204);
    expect(await eventOf(user.id, 'session.logout', sent.requestId)).toMatchObject({ actorId: user.id, data: { sessionId: sid(user.accessToken) } });
    await call('post', '/auth/logout').send({ refreshToken: user.refreshToken }).expect(204); // the session has ended already
    await call('post', '/auth/logout').send({ refreshToken: 'rt_unknown' }).expect(204);
    expect(await eventsOf(user.id, 'session.logout')).toHaveLength(1);
  });

  it('POST /auth/logout-all: session.logout_all, by the user, with how many sessions ended', async () => {
    const user = await signUp();
    await logIn(user.email);
    const sent = call('post', '/auth/logout-all', user.accessToken);
    await sent.expect(204);
    expect(await eventOf(user.id, 'session.logout_all', sent.requestId)).toMatchObject({ actorId: user.id, data: { sessionsEnded: 2 } });
  });

  it('DELETE /auth/sessions/:id: session.revoked, by the user; DELETE /users/:id/sessions: session.revoked, by the admin', async () => {
    const user = await signUp();
    const other = await logIn(user.email);
    const own = call('delete', `/auth/sessions/${sid(other.accessToken)}`, user.accessToken);
    await own.expect(204);
    expect(await eventOf(user.id, 'session.revoked', own.requestId)).toMatchObject({ actorId: user.id, data: { sessionId: sid(other.accessToken) } });

    const byAdmin = call('delete', `/users/${user.id}/sessions`, admin.accessToken);
    await byAdmin.expect(204);
    expect(await eventOf(user.id, 'session.revoked', byAdmin.requestId)).toMatchObject({ actorId: admin.id, data: { sessionsEnded: 1 } });
  });

  it('POST /auth/refresh with a spent token: session.reuse_detected, by nobody known, kept although the answer is 401', async () => {
    const user = await signUp();
    await call('post', '/auth/refresh').send({ refreshToken: user.refreshToken }).expect(200);
    const replay = call('post', '/auth/refresh');
    const response = await replay.send({ refreshToken: user.refreshToken }).expect(401);
    expect(response.body.code).toBe('refresh_token_reused');
    expect(await eventOf(user.id, 'session.reuse_detected', replay.requestId)).toMatchObject({ actorId: null, data: { sessionId: sid(user.accessToken) } });
  });

  it('POST /users/me/password: user.password_changed, by the user, with how many sessions ended; a wrong current password records nothing', async () => {
    const user = await signUp();
    await call('post', '/users/me/password', user.accessToken).send({ currentPassword: 'wrong current password', newPassword: 'a brand new passphrase' }).expect(403);
    expect(await eventsOf(user.id, 'user.password_changed')).toEqual([]);
    const sent = call('post', '/users/me/password', user.accessToken);
    await sent.send({ currentPassword: GOOD_PASSWORD, newPassword: 'a brand new passphrase' }).expect(204);
    expect(await eventOf(user.id, 'user.password_changed', sent.requestId)).toMatchObject({ actorId: user.id, data: { sessionsEnded: 1 } });
  });

  it('PATCH /users/:id/roles: user.roles_changed, by the admin, with the new roles; the same roles again record nothing', async () => {
    const user = await signUp();
    const sent = call('patch', `/users/${user.id}/roles`, admin.accessToken);
    await sent.send({ roles: ['user', 'admin'] }).expect(200);
    expect(await eventOf(user.id, 'user.roles_changed', sent.requestId)).toMatchObject({ actorId: admin.id, data: { roles: ['user', 'admin'] } });
    await call('patch', `/users/${user.id}/roles`, admin.accessToken).send({ roles: ['admin', 'user'] }).expect(200);
    expect(await eventsOf(user.id, 'user.roles_changed')).toHaveLength(1);
    await call('patch', `/users/${user.id}/roles`, admin.accessToken).send({ roles: ['user'] }).expect(200);
    expect((await eventsOf(user.id, 'user.roles_changed'))[0].data).toEqual({ roles: ['user'] });
  });

  it('POST /users/:id/disable and /enable: user.disabled (with the sessions ended) and user.enabled, by the admin', async () => {
    const user = await signUp();
    const disable = call('post', `/users/${user.id}/disable`, admin.accessToken);
    await disable.expect(200);
    expect(await eventOf(user.id, 'user.disabled', disable.requestId)).toMatchObject({ actorId: admin.id, data: { sessionsEnded: 1 } });
    const enable = call('post', `/users/${user.id}/enable`, admin.accessToken);
    await enable.expect(200);
    expect(await eventOf(user.id, 'user.enabled', enable.requestId)).toMatchObject({ actorId: admin.id, data: {} });
  });

  it('DELETE /users/:id: user.deleted, by the admin, with the admin\'s IP; DELETE /users/me: by the user, with nothing of them', async () => {
    const user = await signUp();
    const byAdmin = call('delete', `/users/${user.id}`, admin.accessToken);
    await byAdmin.expect(204);
    expect(await eventOf(user.id, 'user.deleted', byAdmin.requestId)).toMatchObject({ actorId: admin.id });

    const self = await signUp();
    const own = call('delete', '/users/me', self.accessToken);
    await own.send({ currentPassword: GOOD_PASSWORD }).expect(204);
    const [event] = (await eventsOf(self.id, 'user.deleted')).filter((item) => item.requestId === own.requestId);
    expect(event).toMatchObject({ userId: self.id, actorId: self.id, ip: null, userAgent: null });
    for (const earlier of await eventsOf(self.id, 'user.registered')) expect(earlier).toMatchObject({ ip: null, userAgent: null });
  });
});

describe('GET /users/me/security-events', () => {
  it("lists the user's own events, newest first, those an admin caused included, and no one else's", async () => {
    const user = await signUp();
    await call('post', '/auth/login').send({ email: user.email, password: 'a wrong password here' }).expect(401);
    await call('patch', `/users/${user.id}/roles`, admin.accessToken).send({ roles: ['user', 'admin'] }).expect(200);
    const fresh = await logIn(user.email); // the role change revoked the earlier token
    await call('post', '/auth/logout-all', fresh.accessToken).expect(204);
    const again = await logIn(user.email);

    const response = await call('get', '/users/me/security-events', again.accessToken).expect(200);
    const items: Event[] = response.body.items;
    expect(items.map((event) => event.type)).toEqual([
      'user.login_succeeded',
      'session.logout_all',
      'user.login_succeeded',
      'user.roles_changed',
      'user.login_failed',
      'user.registered',
    ]);
    expect(items.every((event) => event.userId === user.id)).toBe(true);
    expect(items.find((event) => event.type === 'user.roles_changed')?.actorId).toBe(admin.id);
    expect(response.body.nextCursor).toBeNull();
  });
});

describe('a failed audit insert: neither the change nor its event', () => {
  // A trigger of this test's own database refuses the insert of the listed event types: the
  // database failing at the last statement of each flow's transaction.
  beforeAll(async () => {
    await sql('CREATE TABLE audit_fail_types (type text PRIMARY KEY)');
    await sql(`CREATE FUNCTION audit_fail() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF EXISTS (SELECT 1 FROM audit_fail_types WHERE type = NEW.type) THEN RAISE EXCEPTION 'audit insert refused by the test'; END IF;
        RETURN NEW;
      END $$`);
    await sql('CREATE TRIGGER audit_fail BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_fail()');
  });

  afterAll(async () => {
    await sql('DROP TRIGGER audit_fail ON audit_events');
    await sql('DROP FUNCTION audit_fail()');
    await sql('DROP TABLE audit_fail_types');
  });

  /** Runs `flow` with the insert of `type` refused: it must answer 503; then the insert is allowed again. */
  async function refusing(type: string, flow: () => Promise<request.Response>): Promise<void> {
    await sql('INSERT INTO audit_fail_types (type) VALUES ($1)', [type]);
    try {
      const response = await flow();
      expect({ status: response.status, code: response.body.code }).toEqual({ status: 503, code: 'database_unavailable' });
    } finally {
      await sql('DELETE FROM audit_fail_types');
    }
  }

  const liveSessions = async (userId: string) =>
    (await sql<{ n: number }>('SELECT count(*)::int AS n FROM sessions WHERE user_id = $1 AND revoked_at IS NULL', [userId]))[0].n;

  it('register: no account', async () => {
    const email = uniqueEmail('never-registered');
    await refusing('user.registered', () => call('post', '/auth/register').send({ email, password: GOOD_PASSWORD }));
    expect(await sql('SELECT id FROM users WHERE email = $1', [email])).toEqual([]);
    await call('post', '/auth/register').send({ email, password: GOOD_PASSWORD }).expect(201);
  });

  it('login: no session', async () => {
    const user = await signUp();
    await refusing('user.login_succeeded', () => call('post', '/auth/login').send({ email: user.email, password: GOOD_PASSWORD }));
    expect(await liveSessions(user.id)).toBe(1);
  });

  it('logout, logout-all, a session ended by its user or by an admin: every session still lives', async () => {
    const user = await signUp();
    const other = await logIn(user.email);
    await refusing('session.logout', () => call('post', '/auth/logout').send({ refreshToken: other.refreshToken }));
    await refusing('session.logout_all', () => call('post', '/auth/logout-all', user.accessToken));
    await refusing('session.revoked', () => call('delete', `/auth/sessions/${sid(other.accessToken)}`, user.accessToken));
    await refusing('session.revoked', () => call('delete', `/users/${user.id}/sessions`, admin.accessToken));
    expect(await liveSessions(user.id)).toBe(2);
    await call('get', '/auth/sessions', user.accessToken).expect(200);
    await call('post', '/auth/refresh').send({ refreshToken: other.refreshToken }).expect(200);
  });

  it('a spent token presented again: the session is not revoked either (the next replay is caught)', async () => {
    const user = await signUp();
    await call('post', '/auth/refresh').send({ refreshToken: user.refreshToken }).expect(200);
    await refusing('session.reuse_detected', () => call('post', '/auth/refresh').send({ refreshToken: user.refreshToken }));
    expect(await liveSessions(user.id)).toBe(1);
    expect((await call('post', '/auth/refresh').send({ refreshToken: user.refreshToken }).expect(401)).body.code).toBe('refresh_token_reused');
    expect(await liveSessions(user.id)).toBe(0);
  });

  it('password change: the old password still works, the sessions live', async () => {
    const user = await signUp();
    await refusing('user.password_changed', () =>
      call('post', '/users/me/password', user.accessToken).send({ currentPassword: GOOD_PASSWORD, newPassword: 'a brand new passphrase' }),
    );
    await logIn(user.email, GOOD_PASSWORD);
    expect(await liveSessions(user.id)).toBe(2);
  });

  it('roles, disable, delete: the user is as before', async () => {
    const user = await signUp();
    await call('post', '/projects', user.accessToken).send({ name: 'Kept' }).expect(201);
    await refusing('user.roles_changed', () => call('patch', `/users/${user.id}/roles`, admin.accessToken).send({ roles: ['user', 'admin'] }));
    await refusing('user.disabled', () => call('post', `/users/${user.id}/disable`, admin.accessToken));
    await refusing('user.deleted', () => call('delete', `/users/${user.id}`, admin.accessToken));
    await refusing('user.deleted', () => call('delete', '/users/me', user.accessToken).send({ currentPassword: GOOD_PASSWORD }));
    const [row] = await sql('SELECT roles, disabled_at FROM users WHERE id = $1', [user.id]);
    expect(row).toEqual({ roles: ['user'], disabled_at: null });
    expect(await liveSessions(user.id)).toBe(1);
    expect(await sql('SELECT id FROM projects WHERE owner_id = $1', [user.id])).toHaveLength(1);
    await call('get', '/users/me', user.accessToken).expect(200); // no revocation reached the guard either
  });

  it('enable: the user stays disabled', async () => {
    const user = await signUp();
    await call('post', `/users/${user.id}/disable`, admin.accessToken).expect(200);
    await refusing('user.enabled', () => call('post', `/users/${user.id}/enable`, admin.accessToken));
    expect((await call('get', `/users/${user.id}`, admin.accessToken).expect(200)).body.disabled).toBe(true);
  });
});
