import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { AuditService } from '../src/audit';
import { auditEventLines } from '../src/audit/audit-export';
import type { AuditRecord } from '../src/audit/audit.service';
import { eventHash } from '../src/audit/audit-chain';
import { AuditDataError } from '../src/audit/audit-data';
import { authed, register, Registered, uniqueEmail } from './support/api';
import { fieldsOf, readContract } from './support/contract';
import { startApp, TestApp } from './support/test-app';

/**
 * The audit trail on the real app, on PGlite or on the PostgreSQL of DATABASE_URL: events
 * written in the caller's transaction, the admin and self-service lists, the hash chain's
 * verification against rows changed or deleted in the database by hand, the retention
 * purge, the redaction of a deleted user's events, and the NDJSON export's core.
 * (Several instances writing at once: audit-instances.e2e-spec.ts.)
 */

const ADMIN_EMAIL = `audit-admin.${process.pid}@example.com`;
const ADMIN_PASSWORD = 'audit admin password for tests';
const HASH = '$2b$04$' + 'a'.repeat(53);
const EVENT_FIELDS = fieldsOf(/An audit event is `(\{[^`]+\})`/.exec(readContract())![1]).map((field) => field.name);

let app: TestApp;
let audit: AuditService;
let admin: { accessToken: string; user: { id: string } };
let alice: Registered;
let bob: Registered;

beforeAll(async () => {
  app = await startApp({ ADMIN_EMAIL, ADMIN_PASSWORD });
  audit = app.app.get(AuditService);
  admin = (await request(app.url).post('/auth/login').send({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD }).expect(200)).body;
  alice = await register(app);
  bob = await register(app);
});

afterAll(async () => {
  await app?.close();
});

const sql = <T = Record<string, any>>(query: string, parameters: unknown[] = []): Promise<T[]> => app.dataSource.query(query, parameters);

let requestCounter = 0;
function client(ip = '203.0.113.7') {
  requestCounter += 1;
  return { ip, userAgent: 'audit-e2e/1.0', requestId: `audit-e2e-${requestCounter}` };
}

function recordFor(userId: string, type: AuditRecord['type'], data: AuditRecord['data'] = {}): Promise<unknown> {
  return audit.recordStandalone({ type, userId, actorId: userId, client: client(), data });
}

async function verify(): Promise<{ valid: boolean; checked: number; firstInvalidId: string | null }> {
  const response = await authed(app, 'get', '/admin/audit-events/verify', admin.accessToken).expect(200);
  return response.body;
}

async function eventCount(): Promise<number> {
  return (await sql<{ n: number }>('SELECT count(*)::int AS n FROM audit_events'))[0].n;
}

/** The events' ids, oldest first. */
async function chainIds(): Promise<string[]> {
  return (await sql<{ id: string }>('SELECT id FROM audit_events ORDER BY seq')).map((row) => row.id);
}

/** What a table owner can do (and an attacker with the owner's rights): the append-only trigger off for `run`. */
async function asOwner<T>(run: () => Promise<T>): Promise<T> {
  await sql('ALTER TABLE audit_events DISABLE TRIGGER USER');
  try {
    return await run();
  } finally {
    await sql('ALTER TABLE audit_events ENABLE TRIGGER USER');
  }
}

/** Deletes these events by hand, runs `check`, then puts them back exactly as they were. */
async function withDeleted(ids: string[], check: () => Promise<void>): Promise<void> {
  await sql('CREATE TABLE audit_saved AS SELECT * FROM audit_events WHERE id = ANY($1::uuid[])', [ids]);
  try {
    await asOwner(() => sql('DELETE FROM audit_events WHERE id = ANY($1::uuid[])', [ids]));
    await check();
  } finally {
    await sql('INSERT INTO audit_events SELECT * FROM audit_saved');
    await sql('DROP TABLE audit_saved');
  }
}

describe('AuditService.record: in the caller\'s transaction', () => {
  it('writes nothing when the transaction fails after it: neither the change nor the event', async () => {
    const subject = randomUUID();
    const email = uniqueEmail('audit-rollback');
    const failure = new Error('the action fails after recording');
    const before = await eventCount();
    await expect(
      app.dataSource.transaction(async (manager) => {
        await manager.query('INSERT INTO users (email, password_hash) VALUES ($1, $2)', [email, HASH]);
        await audit.record({ type: 'user.registered', userId: subject, actorId: subject, client: client() }, manager);
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(await sql('SELECT id FROM users WHERE email = $1', [email])).toEqual([]);
    expect(await sql('SELECT id FROM audit_events WHERE user_id = $1', [subject])).toEqual([]);
    expect(await eventCount()).toBe(before);
    // The chain's head did not move: the next event follows the last one kept.
    await recordFor(subject, 'user.login_succeeded');
    expect(await verify()).toEqual({ valid: true, checked: before + 1, firstInvalidId: null });
  });

  it('writes nothing when the database fails later in the transaction', async () => {
    const subject = randomUUID();
    await expect(
      app.dataSource.transaction(async (manager) => {
        await audit.record({ type: 'user.password_changed', userId: subject, actorId: subject, client: client() }, manager);
        await manager.query('SELECT 1 / (0 * $1::int)', [1]); // division by zero: the statement fails
      }),
    ).rejects.toMatchObject({ driverError: { code: '22012' } });
    expect(await sql('SELECT id FROM audit_events WHERE user_id = $1', [subject])).toEqual([]);
  });

  it('commits the event with the change when the transaction commits', async () => {
    const subject = randomUUID();
    const email = uniqueEmail('audit-commit');
    const event = await app.dataSource.transaction(async (manager) => {
      await manager.query('INSERT INTO users (email, password_hash) VALUES ($1, $2)', [email, HASH]);
      return audit.record({ type: 'user.registered', userId: subject, actorId: subject, client: client(), data: { roles: ['user'] } }, manager);
    });
    expect(await sql('SELECT email FROM users WHERE email = $1', [email])).toHaveLength(1);
    expect(await sql('SELECT id, type, data FROM audit_events WHERE user_id = $1', [subject])).toEqual([
      { id: event.id, type: 'user.registered', data: { roles: ['user'] } },
    ]);
  });

  it('refuses secret-looking data, failing the whole transaction: the change is not written either', async () => {
    const subject = randomUUID();
    const email = uniqueEmail('audit-refused');
    const secret = 'correct horse battery staple';
    for (const data of [{ password: secret }, { refreshToken: 'rt_abc' }, { totpCode: '123456' }, { email }, { nested: { secretKey: 'k' } }]) {
      const attempt = app.dataSource.transaction(async (manager) => {
        await manager.query('INSERT INTO users (email, password_hash) VALUES ($1, $2)', [email, HASH]);
        await audit.record({ type: 'user.login_failed', userId: subject, actorId: null, client: client(), data }, manager);
      });
      await expect(attempt).rejects.toBeInstanceOf(AuditDataError);
      await expect(attempt).rejects.not.toThrow(secret);
    }
    expect(await sql('SELECT id FROM users WHERE email = $1', [email])).toEqual([]);
    expect(await sql('SELECT id FROM audit_events WHERE user_id = $1', [subject])).toEqual([]);
    expect(JSON.stringify(await sql('SELECT data FROM audit_events'))).not.toContain(secret);
  });

  it('refuses an unknown type and an id that is not a UUID', async () => {
    const subject = randomUUID();
    await expect(audit.recordStandalone({ type: 'user.exploded' as AuditRecord['type'], userId: subject, actorId: null })).rejects.toBeInstanceOf(AuditDataError);
    await expect(audit.recordStandalone({ type: 'user.login_failed', userId: 'ada@example.com', actorId: null })).rejects.toBeInstanceOf(AuditDataError);
  });

  it('recordStandalone commits on its own, whatever the caller does next (a failed login answered 401)', async () => {
    const subject = randomUUID();
    const failure = new Error('answered 401');
    await expect(
      (async () => {
        await audit.recordStandalone({ type: 'user.login_failed', userId: subject, actorId: null, client: client(), data: { reason: 'invalid_credentials' } });
        throw failure;
      })(),
    ).rejects.toBe(failure);
    expect(await sql('SELECT type, actor_id, data FROM audit_events WHERE user_id = $1', [subject])).toEqual([
      { type: 'user.login_failed', actor_id: null, data: { reason: 'invalid_credentials' } },
    ]);
  });

  it('chains events written concurrently, in transactions and standalone: seq 1, 2, 3 … and a valid chain', async () => {
    const subject = randomUUID();
    await Promise.all(
      Array.from({ length: 30 }, (_, index) =>
        index % 2 === 0
          ? recordFor(subject, 'session.revoked', { index })
          : app.dataSource.transaction((manager) =>
              audit.record({ type: 'session.revoked', userId: subject, actorId: subject, client: client(), data: { index } }, manager),
            ),
      ),
    );
    const seqs = (await sql<{ seq: string }>('SELECT seq FROM audit_events ORDER BY seq')).map((row) => Number(row.seq));
    expect(seqs).toEqual(seqs.map((_, index) => index + 1));
    expect(await sql('SELECT id FROM audit_events WHERE user_id = $1', [subject])).toHaveLength(30);
    expect(await verify()).toEqual({ valid: true, checked: await eventCount(), firstInvalidId: null });
  });

  it('keeps text that PostgreSQL cannot store as U+FFFD, and cuts a long user agent to 512 characters', async () => {
    const subject = randomUUID();
    await audit.recordStandalone({
      type: 'passkey.registered',
      userId: subject,
      actorId: subject,
      client: { ip: '2001:db8::1', userAgent: 'x'.repeat(600), requestId: 'req-long' },
      data: { name: 'my\u0000key\uD800' },
    });
    const [row] = await sql('SELECT user_agent, data FROM audit_events WHERE user_id = $1', [subject]);
    expect(row.user_agent).toHaveLength(512);
    expect(row.data).toEqual({ name: 'my\uFFFDkey\uFFFD' });
    expect((await verify()).valid).toBe(true);
  });
});

describe('GET /admin/audit-events', () => {
  const subject = randomUUID();
  const other = randomUUID();
  const types = ['user.login_succeeded', 'user.login_failed', 'session.logout'] as const;
  let mine: string[] = []; // newest first

  beforeAll(async () => {
    for (let index = 0; index < 7; index += 1) {
      const event = (await audit.recordStandalone({ type: types[index % 3], userId: subject, actorId: index === 1 ? null : subject, client: client(), data: { index } })) as { id: string };
      mine.unshift(event.id);
      if (index % 2 === 0) await recordFor(other, 'user.login_succeeded', { index });
    }
  });

  const list = (query: string, token = admin.accessToken) => authed(app, 'get', `/admin/audit-events${query}`, token);

  it('answers the newest first, each event in the contract\'s shape', async () => {
    const response = await list('').expect(200);
    expect(Object.keys(response.body).sort()).toEqual(['items', 'nextCursor']);
    const newest = await sql('SELECT id FROM audit_events ORDER BY seq DESC LIMIT 50');
    expect(response.body.items.map((item: { id: string }) => item.id)).toEqual(newest.map((row) => row.id));
    const item = response.body.items.find((event: { id: string }) => event.id === mine[0]);
    expect(Object.keys(item).sort()).toEqual([...EVENT_FIELDS].sort());
    expect(item).toMatchObject({
      id: mine[0],
      type: types[6 % 3],
      userId: subject,
      actorId: subject,
      ip: '203.0.113.7',
      userAgent: 'audit-e2e/1.0',
      requestId: expect.stringMatching(/^audit-e2e-\d+$/),
      data: { index: 6 },
    });
    expect(new Date(item.createdAt).toISOString()).toBe(item.createdAt);
  });

  it('filters by userId', async () => {
    const response = await list(`?userId=${subject}`).expect(200);
    expect(response.body.items.map((item: { id: string }) => item.id)).toEqual(mine);
    expect(response.body.nextCursor).toBeNull();
    expect((await list(`?userId=${other}`).expect(200)).body.items).toHaveLength(4);
    expect((await list(`?userId=${randomUUID()}`).expect(200)).body).toEqual({ items: [], nextCursor: null });
  });

  it('filters by type, alone and with userId', async () => {
    const failed = (await list('?type=user.login_failed').expect(200)).body.items;
    expect(failed.length).toBeGreaterThanOrEqual(2);
    for (const item of failed) expect(item.type).toBe('user.login_failed');
    const both = (await list(`?userId=${subject}&type=session.logout`).expect(200)).body.items;
    expect(both.map((item: { data: { index: number } }) => item.data.index)).toEqual([5, 2]);
  });

  it('pages with the cursor, newest first, across pages, until nextCursor is null', async () => {
    const seen: string[] = [];
    const sizes: number[] = [];
    let cursor: string | null = null;
    do {
      const response: request.Response = await list(`?userId=${subject}&limit=3${cursor ? `&cursor=${cursor}` : ''}`).expect(200);
      seen.push(...response.body.items.map((item: { id: string }) => item.id));
      sizes.push(response.body.items.length);
      cursor = response.body.nextCursor;
    } while (cursor !== null && sizes.length < 10);
    expect(sizes).toEqual([3, 3, 1]);
    expect(seen).toEqual(mine);
  });

  it('ends with nextCursor null when the last page is exactly full', async () => {
    const first = (await list(`?userId=${subject}&limit=7`).expect(200)).body;
    expect(first.items).toHaveLength(7);
    expect(first.nextCursor).toBeNull();
    const page = (await list(`?userId=${subject}&limit=6`).expect(200)).body;
    expect(page.nextCursor).toEqual(expect.any(String));
    const rest = (await list(`?userId=${subject}&limit=6&cursor=${page.nextCursor}`).expect(200)).body;
    expect(rest).toEqual({ items: [expect.objectContaining({ id: mine[6] })], nextCursor: null });
  });

  it('serves 50 by default and at most 100', async () => {
    const many = randomUUID();
    for (let index = 0; index < 105; index += 1) await recordFor(many, 'mfa.challenge_failed', { index });
    const page = (await list(`?userId=${many}`).expect(200)).body;
    expect(page.items).toHaveLength(50);
    expect(page.items[0].data).toEqual({ index: 104 });
    const next = (await list(`?userId=${many}&cursor=${page.nextCursor}`).expect(200)).body;
    expect(next.items[0].data).toEqual({ index: 54 });
    const hundred = (await list(`?userId=${many}&limit=100`).expect(200)).body;
    expect(hundred.items).toHaveLength(100);
    expect(hundred.items[99].data).toEqual({ index: 5 });
  });

  it.each([
    ['a userId that is not a UUID', '?userId=not-a-uuid'],
    ['an email as userId', '?userId=ada@example.com'],
    ['an unknown type', '?type=user.exploded'],
    ['two types', '?type=user.login_failed&type=user.registered'],
    ['limit 0', '?limit=0'],
    ['limit 101', '?limit=101'],
    ['limit -1', '?limit=-1'],
    ['limit 1.5', '?limit=1.5'],
    ['limit abc', '?limit=abc'],
    ['an empty limit', '?limit='],
    ['a cursor that is not base64url', '?cursor=!!!'],
    ['a cursor that names no seq', `?cursor=${Buffer.from('abc').toString('base64url')}`],
    ['a cursor of seq 0', `?cursor=${Buffer.from('0').toString('base64url')}`],
    ['a cursor past bigint', `?cursor=${Buffer.from('99999999999999999999').toString('base64url')}`],
    ['an unknown parameter', '?page=2'],
  ])('answers 400 validation_failed for %s', async (_, query) => {
    const response = await list(query).expect(400);
    expect(response.body).toMatchObject({ statusCode: 400, code: 'validation_failed', error: 'Bad Request' });
    expect(Array.isArray(response.body.message)).toBe(true);
    expect(JSON.stringify(response.body)).not.toContain('ada@example.com');
  });

  it('answers 401 without a token and 403 to a user without the admin role', async () => {
    expect((await request(app.url).get('/admin/audit-events').expect(401)).body.code).toBe('token_missing');
    expect((await list('', alice.accessToken).expect(403)).body.code).toBe('forbidden');
    expect((await authed(app, 'get', '/admin/audit-events/verify', alice.accessToken).expect(403)).body.code).toBe('forbidden');
    expect((await request(app.url).get('/admin/audit-events/verify').expect(401)).body.code).toBe('token_missing');
  });
});

describe('GET /users/me/security-events', () => {
  let alices: string[] = []; // newest first

  beforeAll(async () => {
    for (const type of ['user.login_succeeded', 'user.password_changed', 'mfa.enabled', 'session.logout_all'] as const) {
      alices.unshift(((await audit.recordStandalone({ type, userId: alice.user.id, actorId: alice.user.id, client: client() })) as { id: string }).id);
      await recordFor(bob.user.id, type);
    }
    // An admin's action on Alice is hers too; Alice's action on Bob is not.
    alices.unshift(((await audit.recordStandalone({ type: 'user.roles_changed', userId: alice.user.id, actorId: admin.user.id, data: { roles: ['user'] } })) as { id: string }).id);
    await audit.recordStandalone({ type: 'session.revoked', userId: bob.user.id, actorId: alice.user.id });
  });

  const mine = (token: string, query = '') => authed(app, 'get', `/users/me/security-events${query}`, token);

  it("answers the caller's own events only, newest first", async () => {
    const { items, nextCursor } = (await mine(alice.accessToken).expect(200)).body;
    expect(nextCursor).toBeNull();
    for (const item of items) expect(item.userId).toBe(alice.user.id);
    const ids = items.map((item: { id: string }) => item.id);
    // Whatever else the service records about Alice (register, login) comes in order with these.
    expect(ids.filter((id: string) => alices.includes(id))).toEqual(alices);
    expect(items.find((item: { id: string }) => item.id === alices[0])).toMatchObject({ type: 'user.roles_changed', actorId: admin.user.id, ip: null, userAgent: null, requestId: null });
    const bobs = (await mine(bob.accessToken).expect(200)).body.items;
    expect(bobs.length).toBeGreaterThanOrEqual(5);
    for (const item of bobs) expect(item.userId).toBe(bob.user.id);
    expect(bobs.map((item: { id: string }) => item.id)).not.toContain(alices[1]);
  });

  it('pages with limit and cursor', async () => {
    const all = (await mine(alice.accessToken).expect(200)).body.items.map((item: { id: string }) => item.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 20; pages += 1) {
      const response: request.Response = await mine(alice.accessToken, `?limit=2${cursor ? `&cursor=${cursor}` : ''}`).expect(200);
      expect(response.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...response.body.items.map((item: { id: string }) => item.id));
      cursor = response.body.nextCursor;
      if (cursor === null) break;
    }
    expect(seen).toEqual(all);
  });

  it.each([
    ['limit 0', '?limit=0'],
    ['limit 101', '?limit=101'],
    ['a malformed cursor', '?cursor=%25%25'],
    ["another user's id (userId is not a parameter here)", '?userId=00000000-0000-4000-8000-000000000000'],
    ['a type (not a parameter here)', '?type=user.login_failed'],
  ])('answers 400 validation_failed for %s', async (_, query) => {
    expect((await mine(alice.accessToken, query).expect(400)).body.code).toBe('validation_failed');
  });

  it('answers 401 without a token', async () => {
    expect((await request(app.url).get('/users/me/security-events').expect(401)).body.code).toBe('token_missing');
  });
});

describe('GET /admin/audit-events/verify: tamper evidence', () => {
  it('answers valid with every event checked', async () => {
    const result = await verify();
    expect(result).toEqual({ valid: true, checked: await eventCount(), firstInvalidId: null });
    expect(result.checked).toBeGreaterThan(100);
  });

  it('refuses UPDATE, DELETE and TRUNCATE of events from anyone who leaves the trigger on', async () => {
    const [{ id }] = await sql('SELECT id FROM audit_events ORDER BY seq LIMIT 1');
    await expect(sql(`UPDATE audit_events SET data = '{}' WHERE id = $1`, [id])).rejects.toThrow(/append-only/);
    await expect(sql('DELETE FROM audit_events WHERE id = $1', [id])).rejects.toThrow(/append-only/);
    await expect(sql('TRUNCATE audit_events')).rejects.toThrow(/append-only/);
    expect((await verify()).valid).toBe(true);
  });

  it("finds an event whose data was changed by hand, names it, and is valid again once it is put back", async () => {
    const ids = await chainIds();
    const target = ids[Math.floor(ids.length / 2)];
    const [{ data }] = await sql('SELECT data FROM audit_events WHERE id = $1', [target]);
    await asOwner(() => sql(`UPDATE audit_events SET data = data || '{"roles":["admin"]}'::jsonb WHERE id = $1`, [target]));
    expect(await verify()).toEqual({ valid: false, checked: ids.indexOf(target) + 1, firstInvalidId: target });
    await asOwner(() => sql('UPDATE audit_events SET data = $2::jsonb WHERE id = $1', [target, JSON.stringify(data)]));
    expect(await verify()).toEqual({ valid: true, checked: ids.length, firstInvalidId: null });
  });

  it.each([
    ['type', `type = 'user.login_succeeded'`],
    ['user_id', `user_id = gen_random_uuid()`],
    ['actor_id', `actor_id = NULL`],
    ['ip', `ip = '198.51.100.66'`],
    ['user_agent', `user_agent = 'someone else'`],
    ['request_id', `request_id = 'other'`],
    ['created_at', `created_at = created_at + interval '1 second'`],
    ['hash', `hash = repeat('f', 64)`],
  ])('finds an event whose %s was changed', async (_, assignment) => {
    const ids = await chainIds();
    const target = ids[ids.length - 3];
    await sql('CREATE TABLE audit_saved AS SELECT * FROM audit_events WHERE id = $1', [target]);
    try {
      await asOwner(() => sql(`UPDATE audit_events SET ${assignment} WHERE id = $1`, [target]));
      expect(await verify()).toMatchObject({ valid: false, firstInvalidId: target });
    } finally {
      await asOwner(() => sql('DELETE FROM audit_events WHERE id = $1', [target]));
      await sql('INSERT INTO audit_events SELECT * FROM audit_saved');
      await sql('DROP TABLE audit_saved');
    }
    expect((await verify()).valid).toBe(true);
  });

  it('finds an event deleted from the middle: names the event after the gap', async () => {
    const ids = await chainIds();
    const middle = Math.floor(ids.length / 2);
    await withDeleted([ids[middle]], async () => {
      expect(await verify()).toEqual({ valid: false, checked: middle + 1, firstInvalidId: ids[middle + 1] });
    });
    expect((await verify()).valid).toBe(true);
  });

  it('finds the newest events deleted: names the newest event the chain recorded', async () => {
    const ids = await chainIds();
    await withDeleted(ids.slice(-3), async () => {
      expect(await verify()).toEqual({ valid: false, checked: ids.length - 3, firstInvalidId: ids[ids.length - 1] });
    });
    expect((await verify()).valid).toBe(true);
  });

  it('finds an event whose hash was recomputed after a change: the next event no longer follows it', async () => {
    const ids = await chainIds();
    const target = ids[ids.length - 2];
    const [row] = await sql('SELECT * FROM audit_events WHERE id = $1', [target]);
    const forged: Record<string, any> = { ...row, type: 'user.login_succeeded' };
    const forgedHash = eventHash({
      id: forged.id, seq: String(forged.seq), type: forged.type, userId: forged.user_id, actorId: forged.actor_id, requestId: forged.request_id,
      createdAt: forged.created_at, data: forged.data, piiDigest: forged.pii_digest, prevHash: forged.prev_hash,
    });
    await asOwner(() => sql(`UPDATE audit_events SET type = $2, hash = $3 WHERE id = $1`, [target, forged.type, forgedHash]));
    try {
      expect(await verify()).toEqual({ valid: false, checked: ids.length, firstInvalidId: ids[ids.length - 1] });
    } finally {
      await asOwner(() => sql(`UPDATE audit_events SET type = $2, hash = $3 WHERE id = $1`, [target, row.type, row.hash]));
    }
    expect((await verify()).valid).toBe(true);
  });

  it("finds a living user's event stripped of IP and user agent (what the trigger lets a deletion do)", async () => {
    const [row] = await sql('SELECT id, ip, user_agent, pii_salt FROM audit_events WHERE user_id = $1 AND ip IS NOT NULL ORDER BY seq LIMIT 1', [alice.user.id]);
    await sql('UPDATE audit_events SET ip = NULL, user_agent = NULL, pii_salt = NULL WHERE id = $1', [row.id]); // the trigger allows it
    try {
      expect(await verify()).toMatchObject({ valid: false, firstInvalidId: row.id });
    } finally {
      await asOwner(() => sql('UPDATE audit_events SET ip = $2, user_agent = $3, pii_salt = $4 WHERE id = $1', [row.id, row.ip, row.user_agent, row.pii_salt]));
    }
    expect((await verify()).valid).toBe(true);
  });
});

describe("user.deleted: the user's events keep their id and nothing else that identifies them", () => {
  it("blanks the IP and user agent of the user's earlier events, keeps the admin's on the deletion, and the chain holds", async () => {
    const gone = randomUUID();
    const kept = randomUUID();
    await recordFor(gone, 'user.login_succeeded', { sessionId: randomUUID() });
    await recordFor(gone, 'user.password_changed');
    await recordFor(kept, 'user.login_succeeded');
    const deletion = await app.dataSource.transaction((manager) =>
      audit.record({ type: 'user.deleted', userId: gone, actorId: admin.user.id, client: client('198.51.100.9') }, manager),
    );
    const rows = await sql('SELECT id, type, ip, user_agent, request_id, data FROM audit_events WHERE user_id = $1 ORDER BY seq', [gone]);
    expect(rows.map((row) => [row.type, row.ip, row.user_agent])).toEqual([
      ['user.login_succeeded', null, null],
      ['user.password_changed', null, null],
      ['user.deleted', '198.51.100.9', 'audit-e2e/1.0'],
    ]);
    expect(rows[0].request_id).toMatch(/^audit-e2e-/);
    expect(rows[0].data).toEqual({ sessionId: expect.any(String) });
    expect(rows[2].id).toBe(deletion.id);
    expect(await sql('SELECT ip FROM audit_events WHERE user_id = $1', [kept])).toEqual([{ ip: '203.0.113.7' }]);
    expect(await verify()).toEqual({ valid: true, checked: await eventCount(), firstInvalidId: null });
  });

  it('blanks the deletion event too when the user deleted themselves', async () => {
    const gone = randomUUID();
    await recordFor(gone, 'user.login_succeeded');
    await audit.recordStandalone({ type: 'user.deleted', userId: gone, actorId: gone, client: client() });
    expect(await sql('SELECT ip, user_agent FROM audit_events WHERE user_id = $1', [gone])).toEqual([
      { ip: null, user_agent: null },
      { ip: null, user_agent: null },
    ]);
    expect((await verify()).valid).toBe(true);
  });
});

describe('NDJSON export (the core of npm run audit:export)', () => {
  async function exported(filter: Parameters<typeof auditEventLines>[1]): Promise<Array<Record<string, any>>> {
    const lines: string[] = [];
    for await (const line of auditEventLines(app.dataSource, filter)) lines.push(line);
    for (const line of lines) expect(line.endsWith('\n') && !line.slice(0, -1).includes('\n')).toBe(true);
    return lines.map((line) => JSON.parse(line));
  }

  it('writes every event since a date, oldest first, each line an event with the inputs of its hash: the chain checks out', async () => {
    const events = await exported({ since: new Date(0) });
    expect(events.map((event) => event.id)).toEqual(await chainIds());
    expect(Object.keys(events[0]).sort()).toEqual([...EVENT_FIELDS, 'seq', 'piiDigest', 'prevHash', 'hash'].sort());
    for (let index = 1; index < events.length; index += 1) expect(events[index].prevHash).toBe(events[index - 1].hash);
    // A SIEM can recompute every hash from the lines alone.
    for (const event of events) expect(eventHash({ ...event, createdAt: new Date(event.createdAt) } as Parameters<typeof eventHash>[0])).toBe(event.hash);
  });

  it('honours --since, --until and --type', async () => {
    const rows = await sql<{ id: string; created_at: Date; type: string }>('SELECT id, created_at, type FROM audit_events ORDER BY seq');
    const since = rows[Math.floor(rows.length / 3)].created_at;
    const until = rows[Math.floor((2 * rows.length) / 3)].created_at;
    const expected = rows.filter((row) => row.created_at >= since && row.created_at < until);
    expect(expected.length).toBeGreaterThan(0);
    expect((await exported({ since, until })).map((event) => event.id)).toEqual(expected.map((row) => row.id));
    const types = ['session.logout', 'user.deleted'] as const;
    const typed = await exported({ since: new Date(0), types });
    expect(typed.map((event) => event.id)).toEqual(rows.filter((row) => (types as readonly string[]).includes(row.type)).map((row) => row.id));
    expect(await exported({ since: new Date(Date.now() + 3_600_000) })).toEqual([]);
  });

  it('reads more than one page', async () => {
    const subject = randomUUID();
    await app.dataSource.transaction(async (manager) => {
      for (let index = 0; index < 1100; index += 1) {
        await audit.record({ type: 'mfa.challenge_failed', userId: subject, actorId: null, data: { index } }, manager);
      }
    });
    const events = await exported({ since: new Date(0), types: ['mfa.challenge_failed'] });
    const subjects = events.filter((event) => event.userId === subject);
    expect(subjects.map((event) => event.data.index)).toEqual(Array.from({ length: 1100 }, (_, index) => index));
  });
});

describe('retention purge', () => {
  it('deletes nothing younger than AUDIT_RETENTION (400 days by default)', async () => {
    const before = await eventCount();
    expect(await audit.purgeExpired()).toBe(0);
    expect(await eventCount()).toBe(before);
  });

  it('deletes the oldest events up to the cutoff, and verify stays valid', async () => {
    const rows = await sql<{ id: string; created_at: Date }>('SELECT id, created_at FROM audit_events ORDER BY seq');
    const cutoff = rows[Math.floor(rows.length / 4)].created_at;
    const old = rows.findIndex((row) => row.created_at.getTime() >= cutoff.getTime());
    expect(old).toBeGreaterThan(0);
    expect(await audit.purge(cutoff)).toBe(old);
    expect(await chainIds()).toEqual(rows.slice(old).map((row) => row.id));
    expect(await verify()).toEqual({ valid: true, checked: rows.length - old, firstInvalidId: null });
    expect(await audit.purge(cutoff)).toBe(0);
  });

  it('finds the oldest remaining events deleted by hand, outside the purge', async () => {
    const ids = await chainIds();
    await withDeleted(ids.slice(0, 2), async () => {
      expect(await verify()).toEqual({ valid: false, checked: 1, firstInvalidId: ids[2] });
    });
    expect((await verify()).valid).toBe(true);
  });

  it('takes turns with a concurrent purge (several instances): each event is deleted once, and the chain holds', async () => {
    const subject = randomUUID();
    for (let index = 0; index < 20; index += 1) await recordFor(subject, 'session.logout', { index });
    const rows = await sql<{ id: string; created_at: Date }>('SELECT id, created_at FROM audit_events ORDER BY seq');
    const cutoff = rows[rows.length - 5].created_at;
    const old = rows.findIndex((row) => row.created_at.getTime() >= cutoff.getTime());
    const counts = await Promise.all([audit.purge(cutoff), audit.purge(cutoff), audit.purge(cutoff)]);
    expect(counts.reduce((sum, count) => sum + count, 0)).toBe(old);
    expect(await eventCount()).toBe(rows.length - old);
    expect((await verify()).valid).toBe(true);
  });

  it('may delete every event; the chain goes on from its anchor', async () => {
    const subject = randomUUID();
    await recordFor(subject, 'user.login_succeeded');
    expect(await audit.purge(new Date(Date.now() + 60_000))).toBeGreaterThan(0);
    expect(await eventCount()).toBe(0);
    expect(await verify()).toEqual({ valid: true, checked: 0, firstInvalidId: null });
    await recordFor(subject, 'user.login_succeeded');
    expect(await verify()).toEqual({ valid: true, checked: 1, firstInvalidId: null });
  });
});
