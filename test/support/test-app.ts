import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import { inject } from 'vitest';
import { createApp, CreateAppOptions } from '../../src/app.setup';
import { copyPgliteTemplate, databaseName, databaseUrl, withServer } from './database-templates';

/**
 * The real service (createApp, as main.ts builds it), listening on a random port of
 * 127.0.0.1, on a database of its own: a fresh PGlite directory, or a fresh database
 * on the PostgreSQL of DATABASE_URL when that is set.
 */
export interface TestApp {
  app: NestFastifyApplication;
  url: string;
  dataDir: string;
  dataSource: DataSource;
  env: Record<string, string>;
  /** Stops the service, keeping its database (for restart tests). */
  stop(): Promise<void>;
  /** Stops the service and deletes its database. */
  close(): Promise<void>;
}

export const TEST_JWT_SECRET = 'e2e-test-secret-that-is-at-least-32-bytes-long';

const baseEnv = {
  LOG_LEVEL: process.env.TEST_LOGS ? 'info' : 'silent',
  BCRYPT_COST: '4',
  AUTH_RATE_LIMIT: '100000',
  JWT_SECRET: TEST_JWT_SECRET,
};

export function usingPostgres(): boolean {
  return Boolean(process.env.DATABASE_URL);
}

export interface TestDatabase {
  env: Record<string, string>;
  drop(): Promise<void>;
}

export interface TestDatabaseOptions {
  /** A PostgreSQL server to create the database on, even when DATABASE_URL is unset. */
  serverUrl?: string;
  /** No migration run yet (tests of the first start); otherwise a copy of the migrated template. */
  empty?: boolean;
}

/**
 * A new database of the current schema (or `empty`): a temp PGlite directory, or a new
 * database on DATABASE_URL's server (or `serverUrl`'s).
 */
export async function createTestDatabase(options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const serverUrl = options.serverUrl ?? process.env.DATABASE_URL;
  const dataDir = mkdtempSync(join(tmpdir(), 'auth-e2e-'));
  if (!serverUrl) {
    if (!options.empty) copyPgliteTemplate(dataDir);
    return { env: { DATA_DIR: dataDir }, drop: async () => rmSync(dataDir, { recursive: true, force: true }) };
  }
  const name = databaseName('auth_e2e');
  const templates = inject('databaseTemplates');
  const template = !options.empty && templates.postgres?.server === serverUrl ? ` TEMPLATE ${templates.postgres.name}` : '';
  await withServer(serverUrl, (client) => client.query(`CREATE DATABASE ${name}${template}`));
  return {
    env: { DATA_DIR: dataDir, DATABASE_URL: databaseUrl(serverUrl, name) },
    drop: async () => {
      await withServer(serverUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Starts the service with these environment variables on top of the test defaults. */
export async function startApp(
  env: Record<string, string> = {},
  database?: TestDatabase,
  logs?: CapturedLogs,
  modules: CreateAppOptions['modules'] = [],
): Promise<TestApp> {
  const db = database ?? (await createTestDatabase());
  const fullEnv = { ...baseEnv, ...(logs ? { LOG_LEVEL: 'debug' } : {}), ...db.env, ...env };
  const app = await withEnv(fullEnv, () =>
    createApp({ logger: process.env.TEST_LOGS ? undefined : false, logDestination: logs, modules }),
  );
  // A random port, unless the test names one (APP_URL pointing at the service itself needs it ahead).
  await app.listen(Number(env.PORT ?? 0), '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  const stop = () => app.close();
  return {
    app,
    url: `http://127.0.0.1:${address.port}`,
    dataDir: db.env.DATA_DIR,
    dataSource: app.get(DataSource),
    env: fullEnv,
    stop,
    close: async () => {
      await stop();
      await db.drop();
    },
  };
}

/** Runs `create` with these variables set, then restores process.env: config is read at creation. */
export async function withEnv<T>(env: Record<string, string | undefined>, create: () => Promise<T>): Promise<T> {
  const saved = { ...process.env };
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  try {
    return await create();
  } finally {
    process.env = saved;
  }
}

/** Where the service's JSON log lines go in tests that read them (pino writes one line per call). */
export class CapturedLogs {
  readonly lines: string[] = [];
  write(line: string): void {
    this.lines.push(line.trimEnd());
  }
  /** Each line parsed: every line the service writes is one JSON object. */
  entries(): Array<Record<string, unknown>> {
    return this.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  }
}
