import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { authed, GOOD_PASSWORD, register, Registered } from './support/api';
import { createTestDatabase, startApp, TestApp, usingPostgres } from './support/test-app';
import { POSTGRES_SERVER_URL } from './support/database-templates';

/**
 * Revocation must win every race: a refresh in flight at the moment a session ends must
 * not leave a token that refreshes afterwards. Each round opens a session, keeps it
 * rotating (each refresh presents the token the previous one returned) and fires the
 * revocation while rotations are in flight; once both sides have answered, every refresh
 * token any response carried is presented, newest first, and none may be accepted.
 *
 * The race is real only on PostgreSQL (PGlite runs one statement at a time); CI runs this
 * file on both. Rounds run a few at a time: more transactions in flight widen the windows.
 */
const ROUNDS = 40;
const PARALLEL = 4;
/** Rotations a chain may make; past it, the chain stops (a leaked token is then found by the final check). */
const MAX_ROTATIONS = 40;

let app: TestApp;

const refresh = (token: string) => request(app.url).post('/auth/refresh').send({ refreshToken: token });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Round {
  user: Registered;
  sessionId: string;
  /** Tokens of the session, oldest first: every one that any response of the round carried. */
  tokens: string[];
  /** The session's current token when the race starts. */
  current: string;
  password: string;
}

/** A fresh user with one session, whose id is read from GET /auth/sessions. */
async function openRound(): Promise<Round> {
  const user = await register(app);
  const listed = await authed(app, 'get', '/auth/sessions', user.accessToken).expect(200);
  expect(listed.body).toHaveLength(1);
  return { user, sessionId: listed.body[0].id, tokens: [user.refreshToken!], current: user.refreshToken!, password: GOOD_PASSWORD };
}

/** Refreshes, each with the token the previous one returned, until one is refused. */
async function rotateUntilRefused(round: Round, statuses: number[]): Promise<void> {
  let token = round.current;
  for (let i = 0; i < MAX_ROTATIONS; i += 1) {
    const response = await refresh(token);
    statuses.push(response.status);
    if (response.status !== 200) return;
    token = response.body.refreshToken;
    round.tokens.push(token);
  }
}

type Revoke = (round: Round) => Promise<number>;

const actions: Array<[string, Revoke, (round: Round) => Promise<void>]> = [
  ['logout', (r) => request(app.url).post('/auth/logout').send({ refreshToken: r.tokens[0] }).then((x) => x.status), noPrep],
  ['logout-all', (r) => authed(app, 'post', '/auth/logout-all', r.user.accessToken).then((x) => x.status), noPrep],
  ['DELETE /auth/sessions/:id', (r) => authed(app, 'delete', `/auth/sessions/${r.sessionId}`, r.user.accessToken).then((x) => x.status), noPrep],
  [
    'password change',
    (r) => {
      const newPassword = `a new passphrase ${r.user.user.id}`;
      r.password = newPassword;
      return authed(app, 'post', '/users/me/password', r.user.accessToken)
        .send({ currentPassword: GOOD_PASSWORD, newPassword })
        .then((x) => x.status);
    },
    noPrep,
  ],
  [
    'reuse detection',
    // The first token is spent before the race; presenting it again is the revocation.
    (r) => refresh(r.tokens[0]).then((x) => x.status),
    async (r) => {
      const rotated = await refresh(r.current).expect(200);
      r.current = rotated.body.refreshToken;
      r.tokens.push(r.current);
    },
  ],
];

async function noPrep(): Promise<void> {}

const expectedRevocationStatus: Record<string, number> = {
  logout: 204,
  'logout-all': 204,
  'DELETE /auth/sessions/:id': 204,
  'password change': 204,
  'reuse detection': 401,
};

interface Outcome {
  round: number;
  liveTokens: number;
  listed: boolean;
  revocation: number;
  rotations: number;
}

async function race(name: string, revoke: Revoke, prepare: (round: Round) => Promise<void>, index: number): Promise<Outcome> {
  const round = await openRound();
  await prepare(round);
  const statuses: number[] = [];
  // The revocation lands at a different moment of the rotations in each round.
  const [, revocation] = await Promise.all([
    rotateUntilRefused(round, statuses),
    sleep(index % 7).then(() => revoke(round)),
  ]);
  expect(statuses.filter((status) => status !== 200 && status !== 401), 'no other answer than 200 or 401').toEqual([]);

  // Both have answered. The newest token first: an older one would be reuse, which ends the session anyway.
  let liveTokens = 0;
  for (const token of [...round.tokens].reverse()) {
    const response = await refresh(token);
    expect([200, 401]).toContain(response.status);
    if (response.status === 200) liveTokens += 1;
  }
  // A fresh session (the old access token may be revoked itself) lists the user's live sessions.
  const login = await request(app.url).post('/auth/login').send({ email: round.user.email, password: round.password }).expect(200);
  const listed = await authed(app, 'get', '/auth/sessions', login.body.accessToken).expect(200);
  const ids = listed.body.map((session: { id: string }) => session.id);
  return { round: index, liveTokens, listed: ids.includes(round.sessionId), revocation, rotations: statuses.filter((s) => s === 200).length };
}

describe(`a refresh racing a revocation (${usingPostgres() ? 'PostgreSQL' : 'PGlite'}, ${ROUNDS} rounds each)`, () => {
  // Strict rotation: a spent token presented again is reuse at once, one of the revoking actions raced here.
  beforeAll(async () => {
    app = await startApp({ JWT_REFRESH_REUSE_INTERVAL: '0' });
  });

  afterAll(async () => {
    await app?.close();
  });

  it.each(actions)('%s: afterwards no token of the session refreshes and the session is not listed', async (name, revoke, prepare) => {
    const outcomes: Outcome[] = [];
    for (let start = 0; start < ROUNDS; start += PARALLEL) {
      const batch = Array.from({ length: Math.min(PARALLEL, ROUNDS - start) }, (_, i) => race(name, revoke, prepare, start + i));
      outcomes.push(...(await Promise.all(batch)));
    }
    // A revocation that missed the session (404 for DELETE) is a lost race too.
    const failed = outcomes.filter((o) => o.liveTokens > 0 || o.listed || o.revocation !== expectedRevocationStatus[name]);
    // The revocation came while the session was rotating: in a good share of rounds a rotation succeeded before it.
    expect(outcomes.filter((outcome) => outcome.rotations > 0).length).toBeGreaterThanOrEqual(ROUNDS / 4);
    expect(failed, `${failed.length} of ${ROUNDS} rounds left a live token, a listed session or a wrong answer`).toEqual([]);
  }, 120_000);
});

/**
 * The lock itself, step by step, on PostgreSQL whatever DATABASE_URL says (PGlite runs one
 * transaction at a time, so nothing can be held open beside a refresh): while a revocation
 * of the session is uncommitted, a refresh of it waits for it, instead of rotating from
 * what it saw before; then it follows the outcome.
 */
describe('a refresh waits for an uncommitted revocation of its session (PostgreSQL)', () => {
  let pg: TestApp;

  beforeAll(async () => {
    pg = await startApp({ JWT_REFRESH_REUSE_INTERVAL: '0' }, await createTestDatabase({ serverUrl: POSTGRES_SERVER_URL }));
  });

  afterAll(async () => {
    await pg?.close();
  });

  /** Starts a refresh while a transaction that revoked the session is open, and ends the transaction once the refresh is waiting on its lock. */
  async function refreshDuringRevocation(outcome: 'commit' | 'rollback'): Promise<request.Response> {
    const user = await register(pg);
    const [session] = (await authed(pg, 'get', '/auth/sessions', user.accessToken).expect(200)).body;
    const runner = pg.dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.startTransaction();
      await runner.query(`UPDATE sessions SET revoked_at = now(), revoked_reason = 'logout' WHERE id = $1`, [session.id]);
      let answered = false;
      const pending = request(pg.url)
        .post('/auth/refresh')
        .send({ refreshToken: user.refreshToken })
        .then((response) => {
          answered = true;
          return response;
        });
      // Waits (without a time limit of its own: the test's timeout is the bound) until the refresh's statement waits on a lock.
      for (;;) {
        // From another connection: inside a transaction, pg_stat_activity is a snapshot kept until it ends.
        const [{ waiting }] = await pg.dataSource.query(
          `SELECT count(*)::int AS waiting FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'WITH live AS%'`,
        );
        if (waiting === 1) break;
        expect(answered, 'the refresh answered without waiting for the revocation').toBe(false);
        await sleep(5);
      }
      expect(answered).toBe(false);
      if (outcome === 'commit') await runner.commitTransaction();
      else await runner.rollbackTransaction();
      return await pending;
    } finally {
      await runner.release();
    }
  }

  it('committed: the refresh is refused', async () => {
    const response = await refreshDuringRevocation('commit');
    expect(response.status).toBe(401);
    expect(response.body.code).toBe('refresh_token_invalid');
  });

  it('rolled back: the refresh succeeds', async () => {
    const response = await refreshDuringRevocation('rollback');
    expect(response.status).toBe(200);
  });
});
