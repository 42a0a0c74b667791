import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { UsersService } from '../src/users/users.service';
import { authed, GOOD_PASSWORD, register, Registered, uniqueEmail } from './support/api';
import { contractShapes } from './support/contract';
import { decodeJwt } from './support/jwt';
import { startApp, TestApp, usingPostgres } from './support/test-app';

/**
 * The admins' routes (GET /users/:id, disable, enable, DELETE /users/:id/sessions,
 * DELETE /users/:id) and DELETE /users/me, on the real app and database: each failure row of
 * the contract, what disabling does to tokens, logins and refreshes, the last enabled admin
 * (alone and with two admins acting at once), and what a deletion leaves behind.
 */

const ADMIN_EMAIL = `admin-e2e.${process.pid}@example.com`;
const ADMIN_PASSWORD = 'admin e2e password for tests';
const ADMIN_FIELDS = [...contractShapes().user, 'disabled'].sort();

// Passport strategies are process-wide: one app alive at a time, each in its own block.

interface Account extends Registered {
  refreshToken: string;
}

const login = (app: TestApp, email: string, password: string) => request(app.url).post('/auth/login').send({ email, password });
const refresh = (app: TestApp, refreshToken: string) => request(app.url).post('/auth/refresh').send({ refreshToken });
const sql = <T = Record<string, any>>(app: TestApp, query: string, parameters: unknown[] = []): Promise<T[]> => app.dataSource.query(query, parameters);

function expectError(response: request.Response, status: number, code: string) {
  expect({ status: response.status, code: response.body.code }, JSON.stringify(response.body)).toEqual({ status, code });
  expect(response.body.statusCode).toBe(status);
}

/** A new admin, created as user:create does, logged in: a token with the role. */
async function newAdmin(app: TestApp): Promise<Account & { id: string }> {
  const email = uniqueEmail('admin');
  const user = await app.app.get(UsersService).create({ email, password: GOOD_PASSWORD, roles: ['user', 'admin'] as never });
  const body = (await login(app, email, GOOD_PASSWORD).expect(200)).body;
  return { ...body, email, password: GOOD_PASSWORD, id: user.id };
}

async function enabledAdmins(app: TestApp): Promise<string[]> {
  const rows = await sql<{ id: string }>(app, `SELECT id FROM users WHERE 'admin' = ANY(roles) AND disabled_at IS NULL ORDER BY id`);
  return rows.map((row) => row.id);
}

describe('the admin routes', () => {
  let app: TestApp;
  let admin: Account;
  let alice: Account;

  beforeAll(async () => {
    app = await startApp({ ADMIN_EMAIL, ADMIN_PASSWORD, LOGIN_BACKOFF_THRESHOLD: '3' });
    admin = (await login(app, ADMIN_EMAIL, ADMIN_PASSWORD).expect(200)).body;
    alice = (await register(app)) as Account;
  });

  afterAll(async () => {
    await app?.close();
  });

  /** Every admin route, with a path naming this id. */
  const routes = (id: string): Array<['get' | 'post' | 'delete', string]> => [
    ['get', `/users/${id}`],
    ['post', `/users/${id}/disable`],
    ['post', `/users/${id}/enable`],
    ['delete', `/users/${id}/sessions`],
    ['delete', `/users/${id}`],
  ];

  describe('failure rows common to every admin route', () => {
    it('answers 400 validation_failed for a malformed id, before looking for it', async () => {
      for (const [method, path] of routes('not-a-uuid')) expectError(await authed(app, method, path, admin.accessToken), 400, 'validation_failed');
    });

    it('answers 404 not_found for a well-formed id that is not there', async () => {
      for (const [method, path] of routes(randomUUID())) expectError(await authed(app, method, path, admin.accessToken), 404, 'not_found');
    });

    it('answers 401 without a token, with WWW-Authenticate: Bearer', async () => {
      for (const [method, path] of routes(alice.user.id)) {
        const response = await request(app.url)[method](path);
        expectError(response, 401, 'token_missing');
        expect(response.headers['www-authenticate']).toMatch(/^Bearer/);
      }
    });

    it('answers 403 forbidden to a user without the admin role, and changes nothing', async () => {
      const bob = await register(app);
      for (const [method, path] of routes(alice.user.id)) expectError(await authed(app, method, path, bob.accessToken), 403, 'forbidden');
      await authed(app, 'get', '/users/me', alice.accessToken).expect(200); // alice was neither disabled, nor deleted, nor logged out
      expect((await sql(app, 'SELECT disabled_at FROM users WHERE id = $1', [alice.user.id]))[0].disabled_at).toBeNull();
    });
  });

  describe('GET /users/:id', () => {
    it('answers 200 with the admin user: the user object and disabled', async () => {
      const response = await authed(app, 'get', `/users/${alice.user.id}`, admin.accessToken).expect(200);
      expect(Object.keys(response.body).sort()).toEqual(ADMIN_FIELDS);
      expect(response.body).toEqual({ ...alice.user, disabled: false });
    });
  });

  describe('POST /users/:id/disable and /enable', () => {
    it('disabling ends every session at once: access tokens 401 token_revoked, refreshes 401, and logins 403 account_disabled after the right password only', async () => {
      const carol = (await register(app)) as Account;
      const second = (await login(app, carol.email, GOOD_PASSWORD).expect(200)).body as Account;
      await authed(app, 'get', '/auth/sessions', carol.accessToken).expect(200);

      const disabled = await authed(app, 'post', `/users/${carol.user.id}/disable`, admin.accessToken).expect(200);
      expect(Object.keys(disabled.body).sort()).toEqual(ADMIN_FIELDS);
      expect(disabled.body).toMatchObject({ id: carol.user.id, email: carol.email, disabled: true });

      // Every access token of every session: the guard refuses them from memory, on a route that reads nothing.
      for (const token of [carol.accessToken, second.accessToken]) {
        expectError(await authed(app, 'get', '/auth/sessions', token), 401, 'token_revoked');
        expectError(await authed(app, 'get', '/users/me', token), 401, 'token_revoked');
      }
      for (const token of [carol.refreshToken, second.refreshToken]) expectError(await refresh(app, token), 401, 'refresh_token_invalid');
      const reasons = await sql(app, 'SELECT revoked_reason FROM sessions WHERE user_id = $1', [carol.user.id]);
      expect(reasons).toEqual([{ revoked_reason: 'user_disabled' }, { revoked_reason: 'user_disabled' }]);

      expectError(await login(app, carol.email, 'not the password at all'), 401, 'invalid_credentials');
      expectError(await login(app, carol.email, GOOD_PASSWORD), 403, 'account_disabled');
      expect(await sql(app, 'SELECT id FROM sessions WHERE user_id = $1 AND revoked_at IS NULL', [carol.user.id])).toEqual([]);
      expect((await authed(app, 'get', `/users/${carol.user.id}`, admin.accessToken).expect(200)).body.disabled).toBe(true);

      // Again: nothing changes, nothing more is recorded.
      await authed(app, 'post', `/users/${carol.user.id}/disable`, admin.accessToken).expect(200);
      expect(await sql(app, `SELECT type FROM audit_events WHERE user_id = $1 AND type = 'user.disabled'`, [carol.user.id])).toHaveLength(1);

      // Enabling lets them log in again; the ended sessions stay ended.
      const enabled = await authed(app, 'post', `/users/${carol.user.id}/enable`, admin.accessToken).expect(200);
      expect(Object.keys(enabled.body).sort()).toEqual(ADMIN_FIELDS);
      expect(enabled.body).toMatchObject({ id: carol.user.id, disabled: false });
      const again = await login(app, carol.email, GOOD_PASSWORD).expect(200);
      await authed(app, 'get', '/users/me', again.body.accessToken).expect(200);
      expectError(await refresh(app, second.refreshToken), 401, 'refresh_token_invalid');
      await refresh(app, again.body.refreshToken).expect(200);
    });

    it('disabling runs the modules\' part: the user\'s MFA challenge in flight is gone', async () => {
      const dave = await register(app);
      await sql(app, `INSERT INTO mfa_challenges (id, user_id, token_hash, amr, expires_at) VALUES ($1, $2, $3, '{pwd}', now() + interval '5 minutes')`, [
        randomUUID(),
        dave.user.id,
        randomBytes(32).toString('hex'),
      ]);
      await authed(app, 'post', `/users/${dave.user.id}/disable`, admin.accessToken).expect(200);
      expect(await sql(app, 'SELECT id FROM mfa_challenges WHERE user_id = $1', [dave.user.id])).toEqual([]);
    });

    it('a login racing the disabling never keeps a session: it waits for the disabling and then answers 403 account_disabled', async () => {
      const ivan = await register(app);
      // The disabling's transaction holds the row (as AdminService.disable does) while the login comes in.
      const disabling = app.dataSource.createQueryRunner();
      await disabling.connect();
      await disabling.startTransaction();
      try {
        await disabling.query('SELECT id FROM users WHERE id = $1 FOR UPDATE', [ivan.user.id]);
        await disabling.query('UPDATE users SET disabled_at = now() WHERE id = $1', [ivan.user.id]);
        await disabling.query(`UPDATE sessions SET revoked_at = now(), revoked_reason = 'user_disabled' WHERE user_id = $1 AND revoked_at IS NULL`, [ivan.user.id]);
        const racing = login(app, ivan.email, GOOD_PASSWORD).then((response) => response);
        if (usingPostgres()) {
          // The login read the account before the change, checked the password, and now waits on the row's lock.
          // (PGlite has one connection: there the login's first query waits for this transaction.)
          const waiting = async () =>
            (await sql<{ n: number }>(app, `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`))[0].n;
          while ((await waiting()) === 0) await new Promise((resolve) => setTimeout(resolve, 20));
        }
        await disabling.commitTransaction();
        await disabling.release(); // on PGlite, the one connection goes back to the login
        expectError(await racing, 403, 'account_disabled');
      } finally {
        if (disabling.isTransactionActive) await disabling.rollbackTransaction();
        if (!disabling.isReleased) await disabling.release();
      }
      expect(await sql(app, 'SELECT id FROM sessions WHERE user_id = $1 AND revoked_at IS NULL', [ivan.user.id])).toEqual([]);
    });

    it('answers 403 forbidden to an admin disabling or enabling their own account, and changes nothing', async () => {
      const me = (await authed(app, 'get', '/users/me', admin.accessToken).expect(200)).body;
      expectError(await authed(app, 'post', `/users/${me.id}/disable`, admin.accessToken), 403, 'forbidden');
      expectError(await authed(app, 'post', `/users/${me.id}/enable`, admin.accessToken), 403, 'forbidden');
      await authed(app, 'get', '/auth/sessions', admin.accessToken).expect(200);
      expect((await authed(app, 'get', `/users/${me.id}`, admin.accessToken).expect(200)).body.disabled).toBe(false);
    });

    it('lets an admin disable another admin while an enabled admin remains', async () => {
      const other = await newAdmin(app);
      await authed(app, 'post', `/users/${other.id}/disable`, admin.accessToken).expect(200);
      expectError(await authed(app, 'get', '/users', other.accessToken), 401, 'token_revoked');
      await authed(app, 'post', `/users/${other.id}/enable`, admin.accessToken).expect(200);
      await sql(app, `UPDATE users SET roles = '{user}' WHERE id = $1`, [other.id]); // leaves the root admin alone again
    });
  });

  describe('DELETE /users/:id/sessions', () => {
    it('ends every session of the user at once (token_revoked) and leaves other users\' sessions alone', async () => {
      const erin = (await register(app)) as Account;
      const second = (await login(app, erin.email, GOOD_PASSWORD).expect(200)).body as Account;
      await authed(app, 'delete', `/users/${erin.user.id}/sessions`, admin.accessToken).expect(204);
      for (const token of [erin.accessToken, second.accessToken]) expectError(await authed(app, 'get', '/auth/sessions', token), 401, 'token_revoked');
      for (const token of [erin.refreshToken, second.refreshToken]) expectError(await refresh(app, token), 401, 'refresh_token_invalid');
      expect(await sql(app, 'SELECT DISTINCT revoked_reason FROM sessions WHERE user_id = $1', [erin.user.id])).toEqual([{ revoked_reason: 'admin_revoked' }]);
      // The account itself is untouched: a new login works; alice's and the admin's sessions live on.
      await login(app, erin.email, GOOD_PASSWORD).expect(200);
      await authed(app, 'get', '/auth/sessions', alice.accessToken).expect(200);
      await authed(app, 'get', '/auth/sessions', admin.accessToken).expect(200);
    });
  });

  describe('DELETE /users/:id and DELETE /users/me', () => {
    /** A user with something in every table that holds a user's things. */
    async function populated(): Promise<Account> {
      const user = (await register(app)) as Account;
      await login(app, user.email, GOOD_PASSWORD).expect(200); // a second session
      await authed(app, 'post', '/projects', user.accessToken).send({ name: 'Apollo' }).expect(201);
      const id = user.user.id;
      // Due tomorrow: the worker leaves it pending.
      await sql(app, `INSERT INTO mail_outbox (id, "to", template, params, user_id, next_attempt_at) VALUES ($1, $2, 'password_changed', '{}', $3, now() + interval '1 day')`, [
        randomUUID(),
        user.email,
        id,
      ]);
      await sql(app, `INSERT INTO mfa_totp (user_id, secret_ciphertext, enabled_at) VALUES ($1, '\\x00', now())`, [id]);
      await sql(app, `INSERT INTO mfa_recovery_codes (id, user_id, code_hash) VALUES ($1, $2, $3)`, [randomUUID(), id, randomBytes(32).toString('hex')]);
      await sql(app, `INSERT INTO mfa_challenges (id, user_id, token_hash, amr, expires_at) VALUES ($1, $2, $3, '{pwd}', now() + interval '5 minutes')`, [
        randomUUID(),
        id,
        randomBytes(32).toString('hex'),
      ]);
      await sql(
        app,
        `INSERT INTO passkeys (id, user_id, credential_id, public_key, name, device_type, backed_up, aaguid) VALUES ($1, $2, $3, '\\x00', 'key', 'singleDevice', false, $4)`,
        [randomUUID(), id, randomBytes(16).toString('base64url'), randomUUID()],
      );
      await sql(app, `INSERT INTO webauthn_challenges (id, challenge, purpose, user_id, expires_at) VALUES ($1, $2, 'register', $3, now() + interval '5 minutes')`, [
        randomUUID(),
        randomBytes(16).toString('base64url'),
        id,
      ]);
      return user;
    }

    /** Where a user's things are: table, and the condition naming the user ($1). */
    const OWNED = [
      ['users', 'id = $1'],
      ['sessions', 'user_id = $1'],
      ['projects', 'owner_id = $1'],
      ['mail_outbox', "user_id = $1 AND status = 'pending'"], // mail sent is the outbox purge's
      ['mfa_totp', 'user_id = $1'],
      ['mfa_recovery_codes', 'user_id = $1'],
      ['mfa_challenges', 'user_id = $1'],
      ['passkeys', 'user_id = $1'],
      ['webauthn_challenges', 'user_id = $1'],
    ] as const;

    async function rowsOf(userId: string): Promise<Record<string, number>> {
      const counts: Record<string, number> = {};
      for (const [table, where] of OWNED) counts[table] = (await sql<{ n: number }>(app, `SELECT count(*)::int AS n FROM ${table} WHERE ${where}`, [userId]))[0].n;
      const [tokens] = await sql<{ n: number }>(app, 'SELECT count(*)::int AS n FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id WHERE s.user_id = $1', [userId]);
      return { ...counts, refresh_tokens: tokens.n };
    }

    /** After a deletion: no row of the user anywhere, their tokens dead, their events kept with the id only. */
    async function expectGone(user: Account): Promise<void> {
      const id = user.user.id;
      const gone = await rowsOf(id);
      expect(Object.values(gone).every((count) => count === 0), JSON.stringify(gone)).toBe(true);
      expectError(await authed(app, 'get', '/auth/sessions', user.accessToken), 401, 'token_revoked');
      expectError(await authed(app, 'post', '/projects', user.accessToken).send({ name: 'x' }), 401, 'token_revoked');
      expectError(await refresh(app, user.refreshToken), 401, 'refresh_token_invalid');
      expectError(await login(app, user.email, GOOD_PASSWORD), 401, 'invalid_credentials');
      expectError(await authed(app, 'get', `/users/${id}`, admin.accessToken), 404, 'not_found');

      const events = await sql(app, 'SELECT type, ip, user_agent, pii_salt, data FROM audit_events WHERE user_id = $1 ORDER BY seq', [id]);
      expect(events.map((event) => event.type)).toEqual(expect.arrayContaining(['user.registered', 'user.login_succeeded', 'user.deleted']));
      for (const event of events.filter((row) => row.type !== 'user.deleted')) expect(event).toMatchObject({ ip: null, user_agent: null, pii_salt: null });
      expect(JSON.stringify(events)).not.toContain(user.email);
      const listed = await authed(app, 'get', `/admin/audit-events?userId=${id}&limit=100`, admin.accessToken).expect(200);
      expect(listed.body.items.map((event: { type: string }) => event.type).sort()).toEqual(events.map((event) => event.type).sort());
      expect((await authed(app, 'get', '/admin/audit-events/verify', admin.accessToken).expect(200)).body.valid).toBe(true);
    }

    it('DELETE /users/:id deletes the user and everything of theirs in one go, keeping their audit events with the id only', async () => {
      const frank = await populated();
      const before = await rowsOf(frank.user.id);
      expect(Object.values(before).every((count) => count > 0), JSON.stringify(before)).toBe(true); // the test sees every table
      const bystander = await populated();

      await authed(app, 'delete', `/users/${frank.user.id}`, admin.accessToken).expect(204);
      await expectGone(frank);
      const [deletion] = await sql(app, `SELECT actor_id, ip FROM audit_events WHERE user_id = $1 AND type = 'user.deleted'`, [frank.user.id]);
      expect(deletion.actor_id).toBe(decodeJwt(admin.accessToken).payload.sub);
      expect(deletion.ip).not.toBeNull(); // the admin's IP stays on the admin's action

      expect(Object.values(await rowsOf(bystander.user.id)).every((count) => count > 0)).toBe(true);
      await authed(app, 'get', '/users/me', bystander.accessToken).expect(200);
      expectError(await authed(app, 'delete', `/users/${frank.user.id}`, admin.accessToken), 404, 'not_found');
    });

    it('DELETE /users/me needs the current password: 403 invalid_credentials for a wrong one, 400 without it, 401 without a token', async () => {
      const grace = await populated();
      expectError(await authed(app, 'delete', '/users/me', grace.accessToken).send({ currentPassword: 'not my password' }), 403, 'invalid_credentials');
      expectError(await authed(app, 'delete', '/users/me', grace.accessToken).send({}), 400, 'validation_failed');
      expectError(await authed(app, 'delete', '/users/me', grace.accessToken).send({ currentPassword: GOOD_PASSWORD, extra: 1 }), 400, 'validation_failed');
      expectError(await request(app.url).delete('/users/me').send({ currentPassword: GOOD_PASSWORD }), 401, 'token_missing');
      expect(Object.values(await rowsOf(grace.user.id)).every((count) => count > 0)).toBe(true);

      await authed(app, 'delete', '/users/me', grace.accessToken).send({ currentPassword: GOOD_PASSWORD }).expect(204);
      await expectGone(grace);
      const [deletion] = await sql(app, `SELECT actor_id, ip, user_agent FROM audit_events WHERE user_id = $1 AND type = 'user.deleted'`, [grace.user.id]);
      expect(deletion).toEqual({ actor_id: grace.user.id, ip: null, user_agent: null }); // their own deletion keeps nothing of them either
    });

    it('DELETE /users/me is throttled like a password change: wrong passwords lead to 429 with Retry-After', async () => {
      const henry = await register(app);
      for (let i = 0; i < 3; i += 1) expectError(await authed(app, 'delete', '/users/me', henry.accessToken).send({ currentPassword: `wrong ${i}` }), 403, 'invalid_credentials');
      const blocked = await authed(app, 'delete', '/users/me', henry.accessToken).send({ currentPassword: GOOD_PASSWORD });
      expectError(blocked, 429, 'rate_limited');
      expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
      await authed(app, 'get', '/users/me', henry.accessToken).expect(200); // not deleted
    });
  });

  describe('the last enabled admin (409 last_admin)', () => {
    it('cannot demote, delete or delete themselves when they are the only admin', async () => {
      const me = decodeJwt(admin.accessToken).payload.sub;
      expect(await enabledAdmins(app)).toEqual([me]);
      expectError(await authed(app, 'patch', `/users/${me}/roles`, admin.accessToken).send({ roles: ['user'] }), 409, 'last_admin');
      expectError(await authed(app, 'delete', `/users/${me}`, admin.accessToken), 409, 'last_admin');
      expectError(await authed(app, 'delete', '/users/me', admin.accessToken).send({ currentPassword: ADMIN_PASSWORD }), 409, 'last_admin');
      expect(await enabledAdmins(app)).toEqual([me]);
      await authed(app, 'get', '/users', admin.accessToken).expect(200);
    });

    it('counts enabled admins only: an admin disabled in the database, whose token still works, cannot disable or delete the last enabled one', async () => {
      const me = decodeJwt(admin.accessToken).payload.sub;
      const other = await newAdmin(app);
      // Disabled behind the service's back: the row says so, the token and session still live.
      await sql(app, 'UPDATE users SET disabled_at = now() WHERE id = $1', [other.id]);
      expectError(await authed(app, 'post', `/users/${me}/disable`, other.accessToken), 409, 'last_admin');
      expectError(await authed(app, 'delete', `/users/${me}`, other.accessToken), 409, 'last_admin');
      expect(await enabledAdmins(app)).toEqual([me]);
      // Once it is enabled again, the same requests pass the rule (the admin's disabling is not carried out: it is undone below).
      await sql(app, 'UPDATE users SET disabled_at = NULL WHERE id = $1', [other.id]);
      await authed(app, 'post', `/users/${me}/disable`, other.accessToken).expect(200);
      await authed(app, 'post', `/users/${me}/enable`, other.accessToken).expect(200);
      admin = (await login(app, ADMIN_EMAIL, ADMIN_PASSWORD).expect(200)).body; // the disabling ended the admin's sessions
      await authed(app, 'delete', `/users/${other.id}`, admin.accessToken).expect(204);
      expect(await enabledAdmins(app)).toEqual([me]);
    });
  });
});

describe('two admins acting on each other at the same moment', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startApp();
  });

  afterAll(async () => {
    await app?.close();
  });

  /**
   * Two admins, each sending the same request against the other at once, a few rounds. One
   * may win; the other gets 409 last_admin (or 401 token_revoked, when the winner's change
   * reached the guard before it): never both, so one enabled admin always remains.
   */
  async function race(action: (app: TestApp, actor: Account, target: string) => request.Test): Promise<void> {
    for (let round = 0; round < 3; round += 1) {
      await sql(app, `UPDATE users SET roles = '{user}' WHERE 'admin' = ANY(roles)`);
      const [first, second] = [await newAdmin(app), await newAdmin(app)];
      const responses = await Promise.all([action(app, first, second.id), action(app, second, first.id)]);
      const outcomes = responses.map((response) => `${response.status} ${response.body?.code ?? ''}`.trim()).sort();
      expect(outcomes.filter((outcome) => outcome === '200')).toHaveLength(1);
      expect(outcomes.filter((outcome) => outcome !== '200'), outcomes.join(', ')).toEqual([expect.stringMatching(/^(409 last_admin|401 token_revoked)$/)]);
      expect((await enabledAdmins(app)).filter((id) => id === first.id || id === second.id)).toHaveLength(1);
    }
  }

  it('demoting each other (PATCH /users/:id/roles) leaves one admin', async () => {
    await race((app, actor, target) => authed(app, 'patch', `/users/${target}/roles`, actor.accessToken).send({ roles: ['user'] }));
  });

  it('disabling each other leaves one enabled admin', async () => {
    await race((app, actor, target) => authed(app, 'post', `/users/${target}/disable`, actor.accessToken));
  });
});
