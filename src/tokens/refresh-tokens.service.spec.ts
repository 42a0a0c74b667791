import 'reflect-metadata';
import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { Test, TestingModule } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { beforeAll, describe, expect, it } from 'vitest';
import { useMigratedPglite } from '../../test/support/pglite-template';
import { ApiError } from '../common/api-error';
import type { ClientInfo } from '../common/auth';
import { secretsConfig } from '../config/secrets.config';
import { buildDataSourceOptions } from '../database/data-source-options';
import { databaseConfig } from '../database/database.config';
import { MetricsService } from '../metrics/metrics.service';
import { RefreshToken } from './refresh-token.entity';
import { RefreshTokensService } from './refresh-tokens.service';
import { RevocationService } from './revocation/revocation.service';
import { Session } from './session.entity';
import { CLOCK_TOLERANCE_SECONDS, tokensConfig } from './tokens.config';
import { specTokensConfig } from '../../test/support/tokens-config';
import { SCHEMA } from '../schema';

const CLIENT: ClientInfo = { userAgent: 'spec-agent/1.0', ip: '192.0.2.10', requestId: 'req-1' };
const OTHER_CLIENT: ClientInfo = { userAgent: 'spec-agent/2.0', ip: '192.0.2.20', requestId: 'req-2' };
const { accessTtlSeconds: ACCESS_TTL, refreshTtlSeconds: REFRESH_TTL } = specTokensConfig();

const pglite = useMigratedPglite('refresh-tokens-service');

beforeAll(() => Logger.overrideLogger(false));

interface Context {
  module: TestingModule;
  tokens: RefreshTokensService;
  revocations: RevocationService;
  metrics: MetricsService;
  dataSource: DataSource;
  refreshTokenKey: Buffer;
}

/**
 * RefreshTokensService as TokensModule provides it, over a real PGlite database of its own
 * (a copy of the migrated template). Only what the service reads is configured.
 */
async function setUp({ reuseInterval = 10 } = {}): Promise<Context> {
  const dataDir = pglite.dataDir();
  const refreshTokenKey = randomBytes(32);
  const module = await Test.createTestingModule({
    imports: [
      TypeOrmModule.forRoot({ ...buildDataSourceOptions({ url: undefined, dataDir }, SCHEMA), retryAttempts: 0 }),
      TypeOrmModule.forFeature([Session, RefreshToken]),
    ],
    providers: [
      RefreshTokensService,
      RevocationService,
      MetricsService,
      { provide: tokensConfig.KEY, useValue: specTokensConfig({ refreshReuseIntervalSeconds: reuseInterval }) },
      { provide: secretsConfig.KEY, useValue: { refreshTokenKey, mfaEncryptionKey: randomBytes(32) } },
      { provide: databaseConfig.KEY, useValue: { url: undefined, listenUrl: undefined, dataDir } },
    ],
  }).compile();
  await module.init(); // RevocationService loads what is revoked, as at start
  pglite.afterThisTest(() => module.close());
  return {
    module,
    tokens: module.get(RefreshTokensService),
    revocations: module.get(RevocationService),
    metrics: module.get(MetricsService),
    dataSource: module.get(DataSource),
    refreshTokenKey,
  };
}

/** Tokens name users: a row in users, written directly (this module does not depend on Users). */
async function newUser(dataSource: DataSource): Promise<string> {
  const [row]: Array<{ id: string }> = await dataSource.query(
    `INSERT INTO users (email, password_hash) VALUES ($1, 'not-a-real-hash') RETURNING id`,
    [`${randomUUID()}@example.com`],
  );
  return row.id;
}

const sha256 = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');

async function apiErrorOf(promise: Promise<unknown>): Promise<{ status: number; code: unknown }> {
  const error = await promise.then(
    () => {
      throw new Error('expected an ApiError, but the call succeeded');
    },
    (rejected: unknown) => rejected,
  );
  expect(error).toBeInstanceOf(ApiError);
  return { status: (error as ApiError).getStatus(), code: ((error as ApiError).getResponse() as { code?: unknown }).code };
}

interface TokenRow {
  id: string;
  session_id: string;
  parent_id: string | null;
  token_hash: string;
  spent_at: Date | null;
}

async function tokenRows(dataSource: DataSource, sessionId: string): Promise<TokenRow[]> {
  return dataSource.query(
    'SELECT id, session_id, parent_id, token_hash, spent_at FROM refresh_tokens WHERE session_id = $1 ORDER BY created_at, spent_at NULLS LAST',
    [sessionId],
  );
}

async function sessionRow(dataSource: DataSource, sessionId: string) {
  const [row]: Array<{ revoked_at: Date | null; revoked_reason: string | null; user_agent: string | null; ip: string | null; amr: string[]; aal: number }> =
    await dataSource.query('SELECT revoked_at, revoked_reason, user_agent, ip, amr, aal FROM sessions WHERE id = $1', [sessionId]);
  return row;
}

/** What the guard asks RevocationService about an access token of this session, issued now. */
const claimsOf = (userId: string, sessionId: string) => ({ sub: userId, sid: sessionId, iat: Math.floor(Date.now() / 1000) });

async function refreshCount(metrics: MetricsService, outcome: string): Promise<number> {
  const metric = await metrics.registry.getSingleMetric('auth_refreshes_total')!.get();
  return metric.values.find((value) => value.labels.outcome === outcome)?.value ?? 0;
}

describe('RefreshTokensService.openSession', () => {
  it('issues an opaque rt_ token and stores only its SHA-256 hash, with the client and the assurance on the session', async () => {
    const { tokens, dataSource } = await setUp();
    const userId = await newUser(dataSource);
    const { sessionId, refreshToken } = await tokens.openSession(userId, CLIENT, { amr: ['pwd', 'otp'], aal: 2 });

    expect(refreshToken).toMatch(/^rt_[A-Za-z0-9_-]{43}$/); // 256 random bits; never a JWS
    const rows = await tokenRows(dataSource, sessionId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ parent_id: null, spent_at: null, token_hash: sha256(refreshToken) });
    // The token itself is in no column of either table.
    const dump: Array<{ text: string }> = await dataSource.query(
      `SELECT row_to_json(t)::text AS text FROM refresh_tokens t UNION ALL SELECT row_to_json(s)::text FROM sessions s`,
    );
    expect(dump.length).toBe(2);
    for (const { text } of dump) expect(text).not.toContain(refreshToken.slice(3));

    expect(await sessionRow(dataSource, sessionId)).toMatchObject({
      revoked_at: null,
      user_agent: 'spec-agent/1.0',
      ip: '192.0.2.10',
      amr: ['pwd', 'otp'],
      aal: 2,
    });
    const [{ seconds }]: Array<{ seconds: number }> = await dataSource.query(
      'SELECT extract(epoch FROM expires_at - now())::float8 AS seconds FROM sessions WHERE id = $1',
      [sessionId],
    );
    expect(seconds).toBeGreaterThan(REFRESH_TTL - 60);
    expect(seconds).toBeLessThanOrEqual(REFRESH_TTL + 1);
  });

  it('cuts an over-long user agent to its column, and opens a password-only session by default', async () => {
    const { tokens, dataSource } = await setUp();
    const userId = await newUser(dataSource);
    const { sessionId } = await tokens.openSession(userId, { userAgent: 'x'.repeat(2000), ip: null });
    const row = await sessionRow(dataSource, sessionId);
    expect(row.user_agent).toHaveLength(512);
    expect(row).toMatchObject({ ip: null, amr: ['pwd'], aal: 1 });
  });
});

describe('RefreshTokensService.rotate', () => {
  it('spends the presented token and issues its successor, derived by HMAC, in the same session', async () => {
    const { tokens, dataSource, refreshTokenKey, metrics } = await setUp();
    const userId = await newUser(dataSource);
    const opened = await tokens.openSession(userId, CLIENT, { amr: ['pwd', 'otp'], aal: 2 });

    const rotated = await tokens.rotate(opened.refreshToken, OTHER_CLIENT);
    expect(rotated).toEqual({ userId, sessionId: opened.sessionId, amr: ['pwd', 'otp'], aal: 2, refreshToken: expect.any(String) });
    const derived = 'rt_' + createHmac('sha256', refreshTokenKey).update(opened.refreshToken, 'utf8').digest('base64url');
    expect(rotated.refreshToken).toBe(derived);

    const [first, second] = await tokenRows(dataSource, opened.sessionId);
    expect(first.token_hash).toBe(sha256(opened.refreshToken));
    expect(first.spent_at).not.toBeNull();
    expect(second).toMatchObject({ parent_id: first.id, spent_at: null, token_hash: sha256(rotated.refreshToken) });
    // The session now shows the client that refreshed it.
    expect(await sessionRow(dataSource, opened.sessionId)).toMatchObject({ user_agent: 'spec-agent/2.0', ip: '192.0.2.20', revoked_at: null });
    expect(await refreshCount(metrics, 'success')).toBe(1);

    // And the successor rotates in turn.
    const next = await tokens.rotate(rotated.refreshToken, CLIENT);
    expect(next.sessionId).toBe(opened.sessionId);
    expect(await tokenRows(dataSource, opened.sessionId)).toHaveLength(3);
  });

  it('answers 401 refresh_token_invalid to an unknown, malformed or expired token', async () => {
    const { tokens, dataSource, metrics } = await setUp();
    const userId = await newUser(dataSource);
    expect(await apiErrorOf(tokens.rotate(`rt_${randomBytes(32).toString('base64url')}`, CLIENT))).toEqual({ status: 401, code: 'refresh_token_invalid' });
    expect(await apiErrorOf(tokens.rotate('', CLIENT))).toEqual({ status: 401, code: 'refresh_token_invalid' });

    const opened = await tokens.openSession(userId, CLIENT);
    await dataSource.query(`UPDATE refresh_tokens SET expires_at = now() - interval '1 second' WHERE session_id = $1`, [opened.sessionId]);
    expect(await apiErrorOf(tokens.rotate(opened.refreshToken, CLIENT))).toEqual({ status: 401, code: 'refresh_token_invalid' });
    expect(await refreshCount(metrics, 'invalid')).toBe(3);
    expect(await refreshCount(metrics, 'success')).toBe(0);
  });

  it('with JWT_REFRESH_REUSE_INTERVAL=0, exactly one of several concurrent rotations of one token wins', async () => {
    const { tokens, dataSource } = await setUp({ reuseInterval: 0 });
    const userId = await newUser(dataSource);
    const opened = await tokens.openSession(userId, CLIENT);

    const results = await Promise.allSettled(Array.from({ length: 5 }, () => tokens.rotate(opened.refreshToken, CLIENT)));
    const won = results.filter((result): result is PromiseFulfilledResult<Awaited<ReturnType<RefreshTokensService['rotate']>>> => result.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const lost of results.filter((result): result is PromiseRejectedResult => result.status === 'rejected')) {
      expect(lost.reason).toBeInstanceOf(ApiError);
      expect((lost.reason as ApiError).getStatus()).toBe(401);
      // A loser that looked after the winner's commit presents a spent token: reuse.
      expect(['refresh_token_invalid', 'refresh_token_reused']).toContain(((lost.reason as ApiError).getResponse() as { code: string }).code);
    }
    // One successor only: the spend is conditional, and the insert comes from the row it spent.
    const rows = await tokenRows(dataSource, opened.sessionId);
    expect(rows).toHaveLength(2);
    expect(rows.filter((row) => row.spent_at === null)).toHaveLength(1);
    expect(rows.find((row) => row.spent_at === null)!.token_hash).toBe(sha256(won[0].value.refreshToken));
  });

  it('with JWT_REFRESH_REUSE_INTERVAL=0, a spent token presented again at once is reuse', async () => {
    const { tokens, dataSource, revocations } = await setUp({ reuseInterval: 0 });
    const userId = await newUser(dataSource);
    const opened = await tokens.openSession(userId, CLIENT);
    const rotated = await tokens.rotate(opened.refreshToken, CLIENT);
    expect(await apiErrorOf(tokens.rotate(opened.refreshToken, CLIENT))).toEqual({ status: 401, code: 'refresh_token_reused' });
    expect(await apiErrorOf(tokens.rotate(rotated.refreshToken, CLIENT))).toEqual({ status: 401, code: 'refresh_token_invalid' });
    expect(revocations.isRevoked(claimsOf(userId, opened.sessionId))).toBe(true);
  });

  it('within the reuse interval, a spent token gets the session’s current token, even several rotations behind, and issues nothing', async () => {
    const { tokens, dataSource } = await setUp({ reuseInterval: 10 });
    const userId = await newUser(dataSource);
    const opened = await tokens.openSession(userId, CLIENT, { amr: ['pwd', 'otp'], aal: 2 });
    const chain = [opened.refreshToken];
    for (let i = 0; i < 3; i += 1) chain.push((await tokens.rotate(chain.at(-1)!, CLIENT)).refreshToken);
    const current = chain.at(-1)!;
    const rowsBefore = await tokenRows(dataSource, opened.sessionId);
    expect(rowsBefore).toHaveLength(4);

    for (const spent of chain.slice(0, -1)) {
      expect(await tokens.rotate(spent, CLIENT)).toEqual({ userId, sessionId: opened.sessionId, amr: ['pwd', 'otp'], aal: 2, refreshToken: current });
    }
    expect(await tokenRows(dataSource, opened.sessionId)).toEqual(rowsBefore); // nothing spent, nothing issued
    expect((await sessionRow(dataSource, opened.sessionId)).revoked_at).toBeNull();
    // The current token is still the one to rotate.
    expect((await tokens.rotate(current, CLIENT)).sessionId).toBe(opened.sessionId);
  });

  it('within the reuse interval, a token more than 16 rotations behind is refused as invalid, the session left alone', async () => {
    const { tokens, dataSource } = await setUp({ reuseInterval: 60 });
    const userId = await newUser(dataSource);
    const opened = await tokens.openSession(userId, CLIENT);
    const chain = [opened.refreshToken];
    for (let i = 0; i < 17; i += 1) chain.push((await tokens.rotate(chain.at(-1)!, CLIENT)).refreshToken);

    expect((await tokens.rotate(chain[1], CLIENT)).refreshToken).toBe(chain[17]); // 16 behind: found
    expect(await apiErrorOf(tokens.rotate(chain[0], CLIENT))).toEqual({ status: 401, code: 'refresh_token_invalid' }); // 17 behind
    expect((await sessionRow(dataSource, opened.sessionId)).revoked_at).toBeNull();
  });

  it('after the reuse interval, a spent token presented again revokes its whole session (reuse detected)', async () => {
    const { tokens, dataSource, revocations, metrics } = await setUp({ reuseInterval: 10 });
    const userId = await newUser(dataSource);
    const opened = await tokens.openSession(userId, CLIENT);
    const rotated = await tokens.rotate(opened.refreshToken, CLIENT);
    const other = await tokens.openSession(userId, CLIENT); // another session of the same user
    await dataSource.query(`UPDATE refresh_tokens SET spent_at = spent_at - interval '11 seconds' WHERE session_id = $1 AND spent_at IS NOT NULL`, [
      opened.sessionId,
    ]);
    expect(revocations.isRevoked(claimsOf(userId, opened.sessionId))).toBe(false);

    expect(await apiErrorOf(tokens.rotate(opened.refreshToken, OTHER_CLIENT))).toEqual({ status: 401, code: 'refresh_token_reused' });
    expect(await sessionRow(dataSource, opened.sessionId)).toMatchObject({ revoked_reason: 'reuse_detected', revoked_at: expect.any(Date) });
    // The thief's copy and the victim's current token alike.
    expect(await apiErrorOf(tokens.rotate(rotated.refreshToken, CLIENT))).toEqual({ status: 401, code: 'refresh_token_invalid' });
    expect(revocations.isRevoked(claimsOf(userId, opened.sessionId))).toBe(true);
    expect(await refreshCount(metrics, 'reused')).toBe(1);

    // Presented once more, there is nothing left to end: invalid, not reuse again.
    expect(await apiErrorOf(tokens.rotate(opened.refreshToken, CLIENT))).toEqual({ status: 401, code: 'refresh_token_invalid' });
    expect(await refreshCount(metrics, 'reused')).toBe(1);
    // The user's other session is untouched.
    expect((await sessionRow(dataSource, other.sessionId)).revoked_at).toBeNull();
    expect(revocations.isRevoked(claimsOf(userId, other.sessionId))).toBe(false);
  });

  it('within the reuse interval, a spent token of a revoked session is invalid', async () => {
    const { tokens, dataSource } = await setUp({ reuseInterval: 10 });
    const userId = await newUser(dataSource);
    const opened = await tokens.openSession(userId, CLIENT);
    await tokens.rotate(opened.refreshToken, CLIENT);
    await tokens.revoke({ sessionId: opened.sessionId }, 'logout');
    expect(await apiErrorOf(tokens.rotate(opened.refreshToken, CLIENT))).toEqual({ status: 401, code: 'refresh_token_invalid' });
    expect((await sessionRow(dataSource, opened.sessionId)).revoked_reason).toBe('logout');
  });
});

describe('RefreshTokensService.revoke', () => {
  it('ends the live sessions selected, returns their ids, and tells RevocationService', async () => {
    const { tokens, dataSource, revocations } = await setUp();
    const alice = await newUser(dataSource);
    const bob = await newUser(dataSource);
    const a1 = await tokens.openSession(alice, CLIENT);
    const a2 = await tokens.openSession(alice, CLIENT);
    const b1 = await tokens.openSession(bob, CLIENT);

    expect(await tokens.revoke({ sessionId: a1.sessionId }, 'logout')).toEqual([a1.sessionId]);
    expect(await tokens.revoke({ sessionId: a1.sessionId }, 'logout')).toEqual([]); // already ended
    expect(await tokens.revoke({ userId: bob, sessionId: a2.sessionId }, 'session_revoked')).toEqual([]); // not Bob's
    expect((await sessionRow(dataSource, a2.sessionId)).revoked_at).toBeNull();

    expect((await tokens.revoke({ userId: alice }, 'logout_all')).sort()).toEqual([a2.sessionId]);
    expect(await sessionRow(dataSource, a1.sessionId)).toMatchObject({ revoked_reason: 'logout' });
    expect(await sessionRow(dataSource, a2.sessionId)).toMatchObject({ revoked_reason: 'logout_all' });
    expect(await sessionRow(dataSource, b1.sessionId)).toMatchObject({ revoked_at: null });

    expect(revocations.isRevoked(claimsOf(alice, a1.sessionId))).toBe(true);
    expect(revocations.isRevoked(claimsOf(alice, a2.sessionId))).toBe(true);
    expect(revocations.isRevoked(claimsOf(bob, b1.sessionId))).toBe(false);
    expect(await apiErrorOf(tokens.rotate(a2.refreshToken, CLIENT))).toEqual({ status: 401, code: 'refresh_token_invalid' });
    expect((await tokens.rotate(b1.refreshToken, CLIENT)).sessionId).toBe(b1.sessionId);
  });

  it('leaves an expired session alone: only live sessions are ended', async () => {
    const { tokens, dataSource } = await setUp();
    const userId = await newUser(dataSource);
    const opened = await tokens.openSession(userId, CLIENT);
    await dataSource.query(`UPDATE sessions SET expires_at = now() - interval '1 second' WHERE id = $1`, [opened.sessionId]);
    expect(await tokens.revoke({ userId }, 'logout_all')).toEqual([]);
    expect((await sessionRow(dataSource, opened.sessionId)).revoked_at).toBeNull();
  });

  it('inside a caller’s transaction, the revocation is known only once the transaction commits', async () => {
    const { tokens, dataSource, revocations } = await setUp();
    const userId = await newUser(dataSource);
    const opened = await tokens.openSession(userId, CLIENT);

    await dataSource.transaction(async (manager) => {
      expect(await tokens.revoke({ userId }, 'password_changed', manager)).toEqual([opened.sessionId]);
      expect(revocations.isRevoked(claimsOf(userId, opened.sessionId))).toBe(false); // not committed yet
    });
    expect(revocations.isRevoked(claimsOf(userId, opened.sessionId))).toBe(true);
    expect((await sessionRow(dataSource, opened.sessionId)).revoked_reason).toBe('password_changed');
  });

  it('inside a caller’s transaction that rolls back, nothing is revoked, in the table or in memory', async () => {
    const { tokens, dataSource, revocations } = await setUp();
    const userId = await newUser(dataSource);
    const opened = await tokens.openSession(userId, CLIENT);

    const failure = new Error('the rest of the action failed');
    await expect(
      dataSource.transaction(async (manager) => {
        expect(await tokens.revoke({ sessionId: opened.sessionId }, 'password_changed', manager)).toEqual([opened.sessionId]);
        throw failure;
      }),
    ).rejects.toBe(failure);

    expect(revocations.isRevoked(claimsOf(userId, opened.sessionId))).toBe(false);
    expect((await sessionRow(dataSource, opened.sessionId)).revoked_at).toBeNull();
    expect((await tokens.rotate(opened.refreshToken, CLIENT)).sessionId).toBe(opened.sessionId);
  });

  it('revokeSession answers 404 not_found for another user’s session and for an unknown id', async () => {
    const { tokens, dataSource } = await setUp();
    const alice = await newUser(dataSource);
    const bob = await newUser(dataSource);
    const bobs = await tokens.openSession(bob, CLIENT);
    expect(await apiErrorOf(tokens.revokeSession(alice, bobs.sessionId))).toEqual({ status: 404, code: 'not_found' });
    expect(await apiErrorOf(tokens.revokeSession(alice, randomUUID()))).toEqual({ status: 404, code: 'not_found' });
    expect((await sessionRow(dataSource, bobs.sessionId)).revoked_at).toBeNull();
    await tokens.revokeSession(bob, bobs.sessionId);
    expect((await sessionRow(dataSource, bobs.sessionId)).revoked_reason).toBe('session_revoked');
    expect(await apiErrorOf(tokens.revokeSession(bob, bobs.sessionId))).toEqual({ status: 404, code: 'not_found' }); // ended already
  });

  it('logout ends the session of a current or a spent token, and ignores an unknown one', async () => {
    const { tokens, dataSource } = await setUp();
    const userId = await newUser(dataSource);
    const first = await tokens.openSession(userId, CLIENT);
    const second = await tokens.openSession(userId, CLIENT);
    await tokens.rotate(second.refreshToken, CLIENT);

    await tokens.logout(`rt_${randomBytes(32).toString('base64url')}`);
    expect((await sessionRow(dataSource, first.sessionId)).revoked_at).toBeNull();
    await tokens.logout(first.refreshToken);
    await tokens.logout(second.refreshToken); // spent
    expect((await sessionRow(dataSource, first.sessionId)).revoked_reason).toBe('logout');
    expect((await sessionRow(dataSource, second.sessionId)).revoked_reason).toBe('logout');
  });
});

describe('RefreshTokensService.listSessions', () => {
  it('lists the user’s live sessions, most recently used first, with no token in them', async () => {
    const { tokens, dataSource } = await setUp();
    const alice = await newUser(dataSource);
    const bob = await newUser(dataSource);
    const older = await tokens.openSession(alice, CLIENT);
    const newer = await tokens.openSession(alice, OTHER_CLIENT);
    const ended = await tokens.openSession(alice, CLIENT);
    const expired = await tokens.openSession(alice, CLIENT);
    await tokens.openSession(bob, CLIENT);
    await tokens.revoke({ sessionId: ended.sessionId }, 'logout');
    await dataSource.query(`UPDATE sessions SET expires_at = now() - interval '1 second' WHERE id = $1`, [expired.sessionId]);
    await dataSource.query(`UPDATE sessions SET last_used_at = now() - interval '1 hour' WHERE id = $1`, [newer.sessionId]);
    await dataSource.query(`UPDATE sessions SET last_used_at = now() - interval '2 hours' WHERE id = $1`, [older.sessionId]);

    let list = await tokens.listSessions(alice);
    expect(list.map((session) => session.id)).toEqual([newer.sessionId, older.sessionId]);
    expect(Object.keys(list[0]).sort()).toEqual(['createdAt', 'expiresAt', 'id', 'ip', 'lastUsedAt', 'userAgent']);
    expect(list[0]).toMatchObject({ userAgent: 'spec-agent/2.0', ip: '192.0.2.20' });
    for (const field of ['createdAt', 'lastUsedAt', 'expiresAt'] as const) expect(new Date(list[0][field]).toISOString()).toBe(list[0][field]);

    // A rotation makes the older one the most recently used.
    await tokens.rotate(older.refreshToken, CLIENT);
    list = await tokens.listSessions(alice);
    expect(list.map((session) => session.id)).toEqual([older.sessionId, newer.sessionId]);
    expect(await tokens.listSessions(randomUUID())).toEqual([]);
  });
});

describe('RefreshTokensService.purgeExpired', () => {
  it('deletes sessions ended or expired longer ago than an access token lives, with their tokens, and keeps the rest', async () => {
    const { tokens, dataSource } = await setUp();
    const userId = await newUser(dataSource);
    const grace = ACCESS_TTL + CLOCK_TOLERANCE_SECONDS;
    const live = await tokens.openSession(userId, CLIENT);
    await tokens.rotate(live.refreshToken, CLIENT); // its spent token stays, to recognise a replay
    const revokedLongAgo = await tokens.openSession(userId, CLIENT);
    const revokedRecently = await tokens.openSession(userId, CLIENT);
    const expiredLongAgo = await tokens.openSession(userId, CLIENT);
    const expiredRecently = await tokens.openSession(userId, CLIENT);
    await tokens.revoke({ sessionId: revokedLongAgo.sessionId }, 'logout');
    await tokens.revoke({ sessionId: revokedRecently.sessionId }, 'logout');
    await dataSource.query(`UPDATE sessions SET revoked_at = now() - make_interval(secs => $2) WHERE id = $1`, [revokedLongAgo.sessionId, grace + 1]);
    await dataSource.query(`UPDATE sessions SET expires_at = now() - make_interval(secs => $2) WHERE id = $1`, [expiredLongAgo.sessionId, grace + 1]);
    await dataSource.query(`UPDATE sessions SET expires_at = now() - make_interval(secs => $2) WHERE id = $1`, [expiredRecently.sessionId, grace - 60]);

    expect(await tokens.purgeExpired()).toBe(2);
    const sessions: Array<{ id: string }> = await dataSource.query('SELECT id FROM sessions ORDER BY id');
    expect(sessions.map((row) => row.id).sort()).toEqual([live.sessionId, revokedRecently.sessionId, expiredRecently.sessionId].sort());
    const orphans: Array<{ n: number }> = await dataSource.query(
      'SELECT count(*)::int AS n FROM refresh_tokens WHERE session_id = ANY($1::uuid[])',
      [[revokedLongAgo.sessionId, expiredLongAgo.sessionId]],
    );
    expect(orphans[0].n).toBe(0);
    expect(await tokenRows(dataSource, live.sessionId)).toHaveLength(2);

    expect(await tokens.purgeExpired()).toBe(0);
  });
});
