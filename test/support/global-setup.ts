import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { databaseName, databaseUrl, migrate, POSTGRES_SERVER_URL, withServer } from './database-templates';

/** Makes the migrated templates of test/support/database-templates.ts, and removes them after the run. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const pglite = mkdtempSync(join(tmpdir(), 'auth-template-'));
  await migrate({ dataDir: pglite });
  // Unit specs use PGlite only; end-to-end tests also use the PostgreSQL server, even on the PGlite run.
  const postgres = project.name === 'e2e' ? { server: POSTGRES_SERVER_URL, name: databaseName('auth_template') } : undefined;
  if (postgres) {
    await withServer(postgres.server, (client) => client.query(`CREATE DATABASE ${postgres.name}`));
    await migrate({ url: databaseUrl(postgres.server, postgres.name), dataDir: pglite });
  }
  project.provide('databaseTemplates', { pglite, postgres });
  return async () => {
    rmSync(pglite, { recursive: true, force: true });
    if (postgres) await withServer(postgres.server, (client) => client.query(`DROP DATABASE IF EXISTS ${postgres.name} WITH (FORCE)`));
  };
}
