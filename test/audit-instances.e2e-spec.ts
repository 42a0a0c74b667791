import { ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource } from 'typeorm';
import { AuditService } from '../src/audit';
import { AuditEvent } from '../src/audit/audit-event.entity';
import { buildDataSourceOptions } from '../src/database/data-source-options';
import { compileService, CompiledService } from './support/compiled-service';
import { createTestDatabase, TEST_JWT_SECRET, TestDatabase } from './support/test-app';
import { copyPgliteTemplate, POSTGRES_SERVER_URL } from './support/database-templates';
import { SCHEMA } from '../src/schema';

/**
 * Several instances on one PostgreSQL: two service processes (the real AppModule, compiled
 * from src/ by SWC into a directory of their own) and this one write events at the same
 * time; the chain must come out whole. Always on a PostgreSQL server (DATABASE_URL's, or
 * the local one): PGlite serves one process. Then `npm run audit:export`'s program, run
 * as a process on that database and on a PGlite directory: its lines, and that it exits.
 */

const EVENTS_PER_PROCESS = 300;
const CONCURRENCY = 8;

/** Run by each child: waits for "go" on stdin, then writes events from CONCURRENCY loops, half in a transaction with other work. */
const WRITER = `
require('reflect-metadata');
const { randomUUID } = require('node:crypto');
const { NestFactory } = require('@nestjs/core');
const { DataSource } = require('typeorm');
const { AppModule } = require('./src/app.module');
const { AuditService } = require('./src/audit/audit.service');

async function main() {
  const [count, concurrency, instance] = process.argv.slice(2).map(Number);
  const app = await NestFactory.createApplicationContext(AppModule, { logger: ['error'], abortOnError: false });
  const audit = app.get(AuditService);
  const dataSource = app.get(DataSource);
  const userId = randomUUID();
  process.stdout.write('ready\\n');
  await new Promise((resolve) => process.stdin.once('data', resolve));
  process.stdin.destroy(); // an open stdin would keep the process alive
  let next = 0;
  const loop = async () => {
    while (next < count) {
      const index = next++;
      const event = {
        type: 'user.login_succeeded', userId, actorId: userId,
        client: { ip: '203.0.113.' + instance, userAgent: 'instance ' + instance, requestId: instance + '-' + index },
        data: { instance, index },
      };
      if (index % 2 === 1) await audit.recordStandalone(event);
      else await dataSource.transaction(async (manager) => {
        await manager.query('SELECT pg_sleep(0.001)'); // the action's own work, before it records
        await audit.record(event, manager);
      });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  await app.close();
  process.stdout.write('done ' + userId + '\\n');
}
main().catch((error) => { console.error(error); process.exit(1); });
`;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a compiled program to its end; a program still running after `timeoutMs` is killed (and reported as hung). */
function run(args: string[], env: Record<string, string | undefined>, timeoutMs = 60_000): Promise<Run & { hung: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: compiled.root, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let hung = false;
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, hung });
    });
  });
}

/** NDJSON: one JSON object a line; nothing for an empty output. */
function parseLines(stdout: string): Array<Record<string, any>> {
  return stdout === '' ? [] : stdout.trimEnd().split('\n').map((line) => JSON.parse(line));
}

function childEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const merged: NodeJS.ProcessEnv = { ...process.env, ...compiled.env, LOG_LEVEL: 'silent', JWT_SECRET: TEST_JWT_SECRET, BCRYPT_COST: '4', ...env };
  for (const [key, value] of Object.entries(merged)) if (value === undefined) delete merged[key];
  return merged;
}

let compiled: CompiledService;
let database: TestDatabase;
let dataSource: DataSource;
let audit: AuditService;
const dataDirs: string[] = [];

function dataDir(): string {
  const directory = mkdtempSync(join(tmpdir(), 'audit-instances-'));
  dataDirs.push(directory);
  return directory;
}

function serviceOn(source: DataSource): AuditService {
  return new AuditService(source.getRepository(AuditEvent), source, { retentionSeconds: 400 * 86400 });
}

beforeAll(async () => {
  compiled = await compileService();
  writeFileSync(join(compiled.root, 'writer.js'), WRITER);
  database = await createTestDatabase({ serverUrl: POSTGRES_SERVER_URL });
  // This process migrates the new database first: two instances starting on an empty one would race to migrate it.
  dataSource = new DataSource(buildDataSourceOptions({ url: database.env.DATABASE_URL, dataDir: database.env.DATA_DIR }, SCHEMA));
  await dataSource.initialize();
  audit = serviceOn(dataSource);
}, 120_000);

afterAll(async () => {
  if (dataSource?.isInitialized) await dataSource.destroy();
  await database?.drop();
  compiled?.remove();
  for (const directory of dataDirs) rmSync(directory, { recursive: true, force: true });
});

describe('several instances on one PostgreSQL', () => {
  it('two service processes and this one write at once: one unbroken chain holds every event', async () => {
    const children: ChildProcess[] = [1, 2].map((instance) =>
      spawn(process.execPath, ['writer.js', String(EVENTS_PER_PROCESS), String(CONCURRENCY), String(instance)], {
        cwd: compiled.root,
        env: childEnv({ DATABASE_URL: database.env.DATABASE_URL, DATA_DIR: dataDir() }),
        stdio: ['pipe', 'pipe', 'pipe'],
      }),
    );
    const outputs = children.map((child) => {
      const output = { stdout: '', stderr: '' };
      child.stdout!.on('data', (chunk: Buffer) => (output.stdout += chunk.toString()));
      child.stderr!.on('data', (chunk: Buffer) => (output.stderr += chunk.toString()));
      return output;
    });
    const exits = children.map((child) => new Promise<number | null>((resolve) => child.on('close', resolve)));
    try {
      // Both started (their migrations found nothing to do): let them go together.
      for (let waited = 0; !outputs.every((output) => output.stdout.includes('ready')); waited += 1) {
        if (waited > 1200) throw new Error(`the writers did not start:\n${outputs.map((output) => output.stderr).join('\n')}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      for (const child of children) child.stdin!.end('go\n');
      const mine = randomUUID();
      await Promise.all(
        Array.from({ length: 50 }, (_, index) => audit.recordStandalone({ type: 'session.logout', userId: mine, actorId: mine, data: { index } })),
      );
      const codes = await Promise.all(exits);
      expect(codes, outputs.map((output) => output.stderr).join('\n')).toEqual([0, 0]);
    } finally {
      for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    }

    const total = 2 * EVENTS_PER_PROCESS + 50;
    const rows: Array<{ seq: string; ip: string | null }> = await dataSource.query('SELECT seq, ip FROM audit_events ORDER BY seq');
    expect(rows.map((row) => Number(row.seq))).toEqual(Array.from({ length: total }, (_, index) => index + 1));
    expect(await serviceOn(dataSource).verify()).toEqual({ valid: true, checked: total, firstInvalidId: null });
    // They did write at the same time: along the chain, the writer changes again and again.
    const writers = rows.map((row) => row.ip ?? 'here');
    const changes = writers.filter((writer, index) => index > 0 && writer !== writers[index - 1]).length;
    expect(changes).toBeGreaterThan(10);
    for (const writer of ['203.0.113.1', '203.0.113.2']) expect(writers.filter((ip) => ip === writer)).toHaveLength(EVENTS_PER_PROCESS);
  });

  it('a purge in one instance while the others write: the chain holds', async () => {
    const before: Array<{ created_at: Date }> = await dataSource.query('SELECT created_at FROM audit_events ORDER BY seq');
    const cutoff = before[Math.floor(before.length / 2)].created_at;
    const other = new DataSource(buildDataSourceOptions({ url: database.env.DATABASE_URL, dataDir: database.env.DATA_DIR }, SCHEMA));
    await other.initialize();
    try {
      const subject = randomUUID();
      const writing = Promise.all(
        Array.from({ length: 100 }, (_, index) => serviceOn(other).recordStandalone({ type: 'session.revoked', userId: subject, actorId: null, data: { index } })),
      );
      const [purged] = await Promise.all([audit.purge(cutoff), serviceOn(other).purge(cutoff), writing]);
      expect(purged).toBeGreaterThanOrEqual(0);
    } finally {
      await other.destroy();
    }
    const after: Array<{ created_at: Date }> = await dataSource.query('SELECT created_at FROM audit_events ORDER BY seq');
    expect(after.length).toBeLessThan(before.length + 100);
    expect(after.every((row) => row.created_at.getTime() >= cutoff.getTime())).toBe(true);
    expect(await audit.verify()).toEqual({ valid: true, checked: after.length, firstInvalidId: null });
  });
});

describe('npm run audit:export (the compiled program)', () => {
  const EXPORT = ['src/cli/audit-export.js'];

  it('writes NDJSON from PostgreSQL, oldest first, and exits', async () => {
    const count = Number((await dataSource.query('SELECT count(*)::int AS n FROM audit_events'))[0].n);
    const result = await run([...EXPORT, '--since', '1h'], { DATABASE_URL: database.env.DATABASE_URL, DATA_DIR: dataDir() });
    expect(result.hung, 'the export did not exit by itself').toBe(false);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.endsWith('\n')).toBe(true);
    const lines = parseLines(result.stdout);
    expect(lines).toHaveLength(count);
    expect(lines.map((line) => Number(line.seq))).toEqual([...lines.map((line) => Number(line.seq))].sort((a, b) => a - b));
    for (let index = 1; index < lines.length; index += 1) expect(lines[index].prevHash).toBe(lines[index - 1].hash);

    const typed = await run([...EXPORT, '--since', '1h', '--type', 'session.revoked,session.logout'], { DATABASE_URL: database.env.DATABASE_URL, DATA_DIR: dataDir() });
    expect(typed.code, typed.stderr).toBe(0);
    const typedLines = parseLines(typed.stdout);
    expect(typedLines.length).toBeGreaterThanOrEqual(100); // the session.revoked events written after the purge's cutoff
    for (const line of typedLines) expect(['session.revoked', 'session.logout']).toContain(line.type);
  });

  it('writes NDJSON from a PGlite directory (the service stopped), and exits', async () => {
    const directory = dataDir();
    copyPgliteTemplate(directory);
    const pglite = new DataSource(buildDataSourceOptions({ url: undefined, dataDir: directory }, SCHEMA));
    await pglite.initialize();
    const subject = randomUUID();
    for (const type of ['user.registered', 'user.login_succeeded', 'user.login_failed'] as const) {
      await serviceOn(pglite).recordStandalone({ type, userId: subject, actorId: null, client: { ip: '192.0.2.1', userAgent: 'pglite', requestId: type } });
    }
    await pglite.destroy();

    const result = await run([...EXPORT, '--since', '2000-01-01', '--until', '1d'], { DATABASE_URL: undefined, DATA_DIR: directory });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(''); // --until a day ago: none yet
    const all = await run([...EXPORT, '--since', '2000-01-01', '--type', 'user.login_failed', '--type', 'user.registered'], { DATABASE_URL: undefined, DATA_DIR: directory });
    expect(all.hung, 'the export on PGlite did not exit by itself').toBe(false);
    expect(all.code, all.stderr).toBe(0);
    const lines = parseLines(all.stdout);
    expect(lines.map((line) => line.type)).toEqual(['user.registered', 'user.login_failed']);
    expect(lines[0]).toMatchObject({ userId: subject, actorId: null, ip: '192.0.2.1', userAgent: 'pglite', requestId: 'user.registered', data: {}, seq: '1' });
  });

  it.each([
    ['no --since', [] as string[], /usage: npm run audit:export/],
    ['a malformed --since', ['--since', 'yesterday'], /--since must be/],
    ['a malformed --until', ['--since', '7d', '--until', '2026-13-01'], /--until must be/],
    ['an unknown --type', ['--since', '7d', '--type', 'user.exploded'], /unknown --type user\.exploded/],
  ])('refuses %s with a usage message and exit code 1, writing nothing', async (_, args, message) => {
    const result = await run([...EXPORT, ...args], { DATABASE_URL: database.env.DATABASE_URL, DATA_DIR: dataDir() });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
  });
});
