import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from '../src/database/data-source-options';
import { CreateSessions1764115200000 } from '../src/tokens/migrations/1764115200000-CreateSessions';
import { PasswordService } from '../src/users/password.service';
import { authed, GOOD_PASSWORD } from './support/api';
import { createTestDatabase, startApp, TestApp, TestDatabase } from './support/test-app';
import { SCHEMA } from '../src/schema';

/**
 * The migration that gives sessions a row of their own carries what was there: a
 * database in the earlier schema (where a session was the tokens sharing a `family_id`)
 * is migrated, reverted and migrated again, and the service then serves those sessions
 * as they were.
 */
const SESSIONS_TIMESTAMP = 1764115200000;
const timestampOf = (migration: (typeof SCHEMA.migrations)[number]) => Number(/(\d{13})$/.exec(migration.name)![1]);
const EMAIL = 'migrated@example.com';
const USER_ID = '00000000-0000-4000-8000-000000000001';

const token = (name: string) => `rt_${name.padEnd(43, 'x')}`;
const hashOf = (name: string) => createHash('sha256').update(token(name), 'utf8').digest('hex');
const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

/** Tokens in the earlier schema, where a session was a `family_id`: [token id, session, parent, name, created, expires, revoked at, reason]. */
const SESSION = { live: id(101), loggedOut: id(201), reused: id(301), lost: id(401), expired: id(501) };
const ROWS: Array<[string, string, string | null, string, string, string, string | null, string | null]> = [
  // live: rotated twice, its third token current
  [id(101), SESSION.live, null, 'live1', '-3 days', '+27 days', '-2 days', 'rotated'],
  [id(102), SESSION.live, id(101), 'live2', '-2 days', '+28 days', '-1 day', 'rotated'],
  [id(103), SESSION.live, id(102), 'live3', '-1 day', '+29 days', null, null],
  // logged out after one rotation
  [id(201), SESSION.loggedOut, null, 'out1', '-3 days', '+27 days', '-2 days', 'rotated'],
  [id(202), SESSION.loggedOut, id(201), 'out2', '-2 days', '+28 days', '-1 hour', 'logout'],
  // ended by reuse detection
  [id(301), SESSION.reused, null, 'reused1', '-3 days', '+27 days', '-2 days', 'rotated'],
  [id(302), SESSION.reused, id(301), 'reused2', '-2 days', '+28 days', '-2 hours', 'reuse_detected'],
  // every token rotated, the current one gone
  [id(401), SESSION.lost, null, 'lost1', '-3 days', '+27 days', '-3 hours', 'rotated'],
  // expired, never revoked
  [id(501), SESSION.expired, null, 'expired1', '-40 days', '-10 days', null, null],
];

describe('the CreateSessions migration', () => {
  let database: TestDatabase;
  let app: TestApp | undefined;

  afterAll(async () => {
    await app?.stop();
    await database?.drop();
  });

  async function migrate(migrations: typeof SCHEMA.migrations, work: (dataSource: DataSource) => Promise<void>): Promise<void> {
    const options = buildDataSourceOptions({ url: database.env.DATABASE_URL, dataDir: database.env.DATA_DIR }, SCHEMA);
    const dataSource = new DataSource({ ...options, migrations });
    await dataSource.initialize(); // runs them
    try {
      await work(dataSource);
    } finally {
      await dataSource.destroy();
    }
  }

  it('gives each session of the earlier schema a row, reverts, and the service serves them afterwards', async () => {
    database = await createTestDatabase({ empty: true });
    const before = SCHEMA.migrations.filter((migration) => timestampOf(migration) < SESSIONS_TIMESTAMP);
    const passwordHash = await new PasswordService({
      bcryptCost: 4,
      bcryptConcurrency: 1,
      admin: undefined,
      passwordPolicy: { minLength: 8, maxLength: 128, rejectCommon: true },
    }).hash(GOOD_PASSWORD);

    // The earlier schema, with data.
    await migrate(before, async (dataSource) => {
      await dataSource.query('INSERT INTO users (id, email, password_hash) VALUES ($1, $2, $3)', [USER_ID, EMAIL, passwordHash]);
      for (const [tokenId, session, parent, name, created, expires, revoked, reason] of ROWS) {
        await dataSource.query(
          `INSERT INTO refresh_tokens (id, user_id, family_id, parent_id, token_hash, created_at, last_used_at, expires_at,
                                       revoked_at, revoked_reason, user_agent, ip)
           VALUES ($1, $2, $3, $4, $5, now() + $6::interval, CASE WHEN $9 = 'rotated' THEN now() + $8::interval END,
                   now() + $7::interval, now() + $8::interval, $9, $10, $11)`,
          [tokenId, USER_ID, session, parent, hashOf(name), created, expires, revoked, reason, `agent-${name}`, '10.0.0.1'],
        );
      }
    });

    // Up: a row for each session.
    await migrate([...before, CreateSessions1764115200000], async (dataSource) => {
      const sessions = await dataSource.query(
        `SELECT s.id, s.user_id, s.revoked_reason, s.user_agent, s.amr, s.aal,
                s.created_at = (SELECT min(created_at) FROM refresh_tokens t WHERE t.session_id = s.id) AS created_from_first,
                s.last_used_at = (SELECT max(created_at) FROM refresh_tokens t WHERE t.session_id = s.id) AS last_used_from_newest,
                s.expires_at = (SELECT max(expires_at) FROM refresh_tokens t WHERE t.session_id = s.id) AS expires_with_newest,
                s.revoked_at IS NOT NULL AS revoked
           FROM sessions s ORDER BY s.id`,
      );
      const carried = (id: string, reason: string | null, newest: string) => ({
        id,
        user_id: USER_ID,
        revoked_reason: reason,
        revoked: reason !== null,
        user_agent: `agent-${newest}`,
        amr: ['pwd'],
        aal: 1,
        created_from_first: true,
        last_used_from_newest: true,
        expires_with_newest: true,
      });
      expect(sessions).toEqual([
        carried(SESSION.live, null, 'live3'),
        carried(SESSION.loggedOut, 'logout', 'out2'),
        carried(SESSION.reused, 'reuse_detected', 'reused2'),
        carried(SESSION.lost, 'session_revoked', 'lost1'), // every token rotated: it could not be refreshed
        carried(SESSION.expired, null, 'expired1'),
      ]);
      // A revoked session keeps the time of the revocation that ended it.
      const [revokedAt] = await dataSource.query(
        `SELECT (SELECT revoked_at FROM sessions WHERE id = $1)
              = (SELECT created_at FROM refresh_tokens WHERE id = $2) + interval '2 days' - interval '1 hour' AS same`,
        [SESSION.loggedOut, id(202)],
      );
      expect(revokedAt.same).toBe(true);
      const tokens = await dataSource.query('SELECT id, session_id, spent_at IS NOT NULL AS spent FROM refresh_tokens ORDER BY id');
      expect(tokens.map((row: { session_id: string; spent: boolean }) => [row.session_id, row.spent])).toEqual(
        ROWS.map(([, session, , , , , , reason]) => [session, reason === 'rotated']),
      );

      // Down: the earlier schema as it was (a revoked session's current token carries its reason).
      await dataSource.undoLastMigration();
      const earlier = await dataSource.query('SELECT id, user_id, family_id, revoked_reason, user_agent FROM refresh_tokens ORDER BY id');
      expect(earlier).toEqual(
        ROWS.map(([tokenId, session, , , , , , reason]) => ({
          id: tokenId,
          user_id: USER_ID,
          family_id: session,
          revoked_reason: reason,
          // The client columns come back from the session: its newest token's.
          user_agent: `agent-${ROWS.filter((row) => row[1] === session).at(-1)![3]}`,
        })),
      );
    });

    // Up again, with every later migration, under the service.
    app = await startApp({}, database);
    const login = await request(app.url).post('/auth/login').send({ email: EMAIL, password: GOOD_PASSWORD }).expect(200);
    const listed = await authed(app, 'get', '/auth/sessions', login.body.accessToken).expect(200);
    const opened = await sessionIdOf(app, login.body.refreshToken);
    expect(listed.body.map((session: { id: string }) => session.id).sort()).toEqual([SESSION.live, opened].sort());
    const refresh = (name: string) => request(app!.url).post('/auth/refresh').send({ refreshToken: token(name) });
    expect((await refresh('out2')).body.code).toBe('refresh_token_invalid'); // logged out
    expect((await refresh('expired1')).body.code).toBe('refresh_token_invalid'); // expired
    expect((await refresh('lost1')).body.code).toBe('refresh_token_invalid'); // spent, of a session already ended: nothing left to end
    const rotated = await refresh('live3').expect(200); // the live session's current token
    expect((await refresh('live2')).body.code).toBe('refresh_token_reused'); // a spent token of it: reuse ends it
    expect((await request(app.url).post('/auth/refresh').send({ refreshToken: rotated.body.refreshToken })).status).toBe(401);
  });
});

async function sessionIdOf(app: TestApp, refreshToken: string): Promise<string> {
  const [row] = await app.dataSource.query('SELECT session_id FROM refresh_tokens WHERE token_hash = $1', [
    createHash('sha256').update(refreshToken, 'utf8').digest('hex'),
  ]);
  return row.session_id;
}
