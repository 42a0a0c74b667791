import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { describe, expect, it } from 'vitest';
import { useMigratedPglite } from '../../test/support/pglite-template';
import { buildDataSourceOptions } from './data-source-options';
import { SCHEMA } from '../schema';

const pglite = useMigratedPglite('pglite-shutdown');

/**
 * The cluster state PostgreSQL keeps in global/pg_control (`DBState`, after the 8-byte system
 * identifier and two 4-byte version numbers): 1 once shut down cleanly, 6 while in production.
 * A session that is never closed leaves 6 behind, and the next open recovers from the WAL.
 */
function clusterState(dataDir: string): 'shut down' | 'in production' | number {
  const state = readFileSync(join(dataDir, 'pgdata', 'global', 'pg_control')).readUInt32LE(16);
  return state === 1 ? 'shut down' : state === 6 ? 'in production' : state;
}

describe('createPgliteDriver shutting down', () => {
  it('closes the embedded database when TypeORM ends its pool (DataSource.destroy, as app.close() does)', async () => {
    const dataDir = pglite.dataDir();
    const dataSource = new DataSource(buildDataSourceOptions({ url: undefined, dataDir }, SCHEMA));
    await dataSource.initialize();
    await dataSource.query('INSERT INTO users (email, password_hash) VALUES ($1, $2)', ['closing@example.com', '$2b$04$' + 'a'.repeat(53)]);
    expect(clusterState(dataDir)).toBe('in production');

    await dataSource.destroy();
    expect(clusterState(dataDir)).toBe('shut down');

    const reopened = new DataSource(buildDataSourceOptions({ url: undefined, dataDir }, SCHEMA));
    await reopened.initialize();
    pglite.afterThisTest(() => reopened.destroy());
    expect(await reopened.query('SELECT email FROM users')).toEqual([{ email: 'closing@example.com' }]);
  });
});
