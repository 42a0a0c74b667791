import 'reflect-metadata';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { AuditEvent } from '../src/audit/audit-event.entity';
import { AuditService } from '../src/audit/audit.service';
import { buildDataSourceOptions } from '../src/database/data-source-options';
import { SCHEMA } from '../src/schema';

/**
 * What the audit chain costs a transaction (docs/BENCHMARKS.md, "Audit trail").
 *
 *   tsc -p tsconfig.bench.json && node dist-bench/bench/audit-chain.js            # PGlite
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres node dist-bench/bench/audit-chain.js
 *
 * A loop of transactions, each writing one event: through AuditService.record() (head row
 * locked, next event hashed and inserted, head moved), or as a plain INSERT of the same row
 * into a copy of the table without the chain (a sequence numbers it). One client at a time,
 * then AUDIT_BENCH_CONCURRENCY at once; rounds alternate the two kinds and the median is
 * kept. Then verify() over the whole table. In a database of its own, dropped afterwards.
 */

const EVENTS = Number(process.env.AUDIT_BENCH_EVENTS ?? 2000);
const ROUNDS = Number(process.env.AUDIT_BENCH_ROUNDS ?? 3);
const CONCURRENCY = Number(process.env.AUDIT_BENCH_CONCURRENCY ?? 16);

interface Figure {
  perSecond: number;
  /** Wall time of the round over the transactions (at concurrency c, c run at once). */
  wallUsPerTransaction: number;
  /** This process's CPU (user + system) per transaction. */
  cpuUsPerTransaction: number;
}

async function main(): Promise<void> {
  const server = process.env.DATABASE_URL;
  const dataDir = mkdtempSync(join(tmpdir(), 'audit-bench-'));
  const name = `audit_bench_${randomBytes(4).toString('hex')}`;
  let url: string | undefined;
  if (server) {
    await admin(server, `CREATE DATABASE ${name}`);
    const target = new URL(server);
    target.pathname = `/${name}`;
    url = target.toString();
  }
  const dataSource = new DataSource(buildDataSourceOptions({ url, dataDir }, SCHEMA));
  await dataSource.initialize();
  try {
    await dataSource.query(`CREATE TABLE audit_events_plain (LIKE audit_events INCLUDING ALL)`);
    await dataSource.query(`CREATE SEQUENCE audit_events_plain_seq`);
    const audit = new AuditService(dataSource.getRepository(AuditEvent), dataSource, { retentionSeconds: 400 * 86400 });
    const userId = randomUUID();
    const client = { ip: '203.0.113.7', userAgent: 'Mozilla/5.0 (X11; Linux x86_64) audit-bench', requestId: 'bench' };
    const chained = () =>
      dataSource.transaction((manager) => audit.record({ type: 'user.login_succeeded', userId, actorId: userId, client, data: { sessionId: randomUUID() } }, manager));
    const plain = () =>
      dataSource.transaction((manager) =>
        manager.query(
          `INSERT INTO audit_events_plain (id, seq, type, user_id, actor_id, ip, user_agent, request_id, created_at, data, pii_salt, pii_digest, prev_hash, hash)
           VALUES ($1, nextval('audit_events_plain_seq'), $2, $3, $3, $4, $5, $6, now(), $7, NULL, '', '', '')`,
          [randomUUID(), 'user.login_succeeded', userId, client.ip, client.userAgent, client.requestId, JSON.stringify({ sessionId: randomUUID() })],
        ),
      );

    await loop(chained, 200, 4);
    await loop(plain, 200, 4);
    const results: Record<string, Figure> = {};
    for (const concurrency of [1, CONCURRENCY]) {
      const runs: Record<'chained' | 'plain', Figure[]> = { chained: [], plain: [] };
      for (let round = 0; round < ROUNDS; round += 1) {
        const order = round % 2 === 0 ? (['chained', 'plain'] as const) : (['plain', 'chained'] as const);
        for (const kind of order) runs[kind].push(await loop(kind === 'chained' ? chained : plain, EVENTS, concurrency));
      }
      results[`chained, ${concurrency} at once`] = median(runs.chained);
      results[`plain, ${concurrency} at once`] = median(runs.plain);
    }
    const count = Number((await dataSource.query('SELECT count(*) AS n FROM audit_events'))[0].n);
    const started = process.hrtime.bigint();
    const verification = await audit.verify();
    const verifySeconds = Number(process.hrtime.bigint() - started) / 1e9;
    console.log(JSON.stringify({
      database: server ? 'postgres' : 'pglite',
      events: EVENTS,
      rounds: ROUNDS,
      results,
      verify: { ...verification, eventsPerSecond: Math.round(count / verifySeconds) },
    }, null, 2));
  } finally {
    await dataSource.destroy();
    if (server) await admin(server, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Runs `transaction` `total` times, `concurrency` at a time. */
async function loop(transaction: () => Promise<unknown>, total: number, concurrency: number): Promise<Figure> {
  let started = 0;
  const cpu = process.cpuUsage();
  const begin = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (started < total) {
        started += 1;
        await transaction();
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - begin) / 1e9;
  const used = process.cpuUsage(cpu);
  return {
    perSecond: Math.round(total / seconds),
    wallUsPerTransaction: Math.round((seconds * 1e6) / total),
    cpuUsPerTransaction: Math.round((used.user + used.system) / total),
  };
}

function median(figures: Figure[]): Figure {
  const middle = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  return {
    perSecond: middle(figures.map((figure) => figure.perSecond)),
    wallUsPerTransaction: middle(figures.map((figure) => figure.wallUsPerTransaction)),
    cpuUsPerTransaction: middle(figures.map((figure) => figure.cpuUsPerTransaction)),
  };
}

async function admin(url: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
