import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { inject } from 'vitest';
import { buildDataSourceOptions } from '../../src/database/data-source-options';
import { SCHEMA } from '../../src/schema';

/**
 * Migrated databases that tests copy instead of migrating their own: a first start runs
 * every migration (seconds on PGlite), a copy takes a fraction of that. Made once per
 * `vitest run` by test/support/global-setup.ts, from the migrations of the tree under test.
 */
export interface DatabaseTemplates {
  /** A PGlite data directory (DATA_DIR/pgdata layout: copy its `pgdata`). */
  pglite: string;
  /** A database on this PostgreSQL server, for CREATE DATABASE … TEMPLATE. */
  postgres?: { server: string; name: string };
}

declare module 'vitest' {
  export interface ProvidedContext {
    databaseTemplates: DatabaseTemplates;
  }
}

/** Fills an empty DATA_DIR with a copy of the run's migrated PGlite template. */
export function copyPgliteTemplate(dataDir: string): void {
  cpSync(join(inject('databaseTemplates').pglite, 'pgdata'), join(dataDir, 'pgdata'), { recursive: true });
}

/** The PostgreSQL server tests use: DATABASE_URL's, or the one every machine runs. */
export const POSTGRES_SERVER_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

/** Runs every migration on this database (the service does the same at start). */
export async function migrate(config: { url?: string; dataDir: string }): Promise<void> {
  const dataSource = new DataSource(buildDataSourceOptions({ url: config.url, dataDir: config.dataDir }, SCHEMA));
  await dataSource.initialize();
  await dataSource.destroy();
}

export async function withServer(url: string, run: (client: Client) => Promise<unknown>): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await run(client);
  } finally {
    await client.end();
  }
}

/** A new database name on a shared server: random, so that runs and files never meet. */
export function databaseName(prefix: string): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

/** `server`'s URL with another database in its path. */
export function databaseUrl(server: string, name: string): string {
  const url = new URL(server);
  url.pathname = `/${name}`;
  return url.toString();
}
