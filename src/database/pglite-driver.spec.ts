import 'reflect-metadata';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useMigratedPglite } from '../../test/support/pglite-template';
import { DataSource, DataSourceOptions } from 'typeorm';
import { User } from '../users/user.entity';
import { buildDataSourceOptions } from './data-source-options';
import { createPgliteDriver } from './pglite-driver';
import { SCHEMA } from '../schema';

const HASH = '$2b$04$' + 'a'.repeat(53);
const pglite = useMigratedPglite('pglite-driver');

/** A DataSource on a temp directory of its own, holding a copy of the migrated template. */
async function openDataSource(driverOptions: { leaseTimeoutMs?: number; statementCacheSize?: number } = {}): Promise<DataSource> {
  const dataDir = pglite.dataDir();
  const options = buildDataSourceOptions({ url: undefined, dataDir }, SCHEMA);
  const { leaseTimeoutMs, statementCacheSize } = driverOptions;
  const dataSource = new DataSource(
    leaseTimeoutMs === undefined && statementCacheSize === undefined
      ? options
      : ({ ...options, driver: createPgliteDriver(join(dataDir, 'pgdata'), leaseTimeoutMs, statementCacheSize) } as DataSourceOptions),
  );
  await dataSource.initialize();
  pglite.afterThisTest(async () => {
    if (dataSource.isInitialized) await dataSource.destroy();
  });
  return dataSource;
}

/** The texts of the session's named prepared statements, in text order (a query without parameters is not prepared). */
async function preparedStatements(dataSource: DataSource): Promise<string[]> {
  const rows: Array<{ statement: string }> = await dataSource.query('SELECT statement FROM pg_prepared_statements ORDER BY statement');
  return rows.map((row) => row.statement);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function emails(dataSource: DataSource): Promise<string[]> {
  const rows: Array<{ email: string }> = await dataSource.query('SELECT email FROM users ORDER BY email');
  return rows.map((row) => row.email);
}

describe('createPgliteDriver under TypeORM', () => {
  it('has run the real migrations', async () => {
    const dataSource = await openDataSource();
    expect(await dataSource.showMigrations()).toBe(false);
    const applied: Array<{ name: string }> = await dataSource.query('SELECT name FROM migrations ORDER BY id');
    expect(applied.map((row) => row.name)).toEqual(SCHEMA.migrations.map((migration) => new migration().name));
    expect(applied.map((row) => row.name)).toContain('CreateUsers1763798400000');
    expect(await emails(dataSource)).toEqual([]);
  });

  it('isolates concurrent transactions: one rolling back does not undo the other', async () => {
    const dataSource = await openDataSource();
    const failure = new Error('roll me back');

    const first = dataSource.transaction(async (manager) => {
      await manager.query('INSERT INTO users (email, password_hash) VALUES ($1, $2)', ['first@example.com', HASH]);
      await sleep(50);
      throw failure;
    });
    const second = dataSource.transaction(async (manager) => {
      await manager.query('INSERT INTO users (email, password_hash) VALUES ($1, $2)', ['second@example.com', HASH]);
    });

    const [firstResult, secondResult] = await Promise.allSettled([first, second]);
    expect(firstResult).toEqual({ status: 'rejected', reason: failure });
    expect(secondResult.status).toBe('fulfilled');
    expect(await emails(dataSource)).toEqual(['second@example.com']);
  });

  it('lets exactly one of 20 concurrent conditional UPDATEs win', async () => {
    const dataSource = await openDataSource();
    const [{ id }]: Array<{ id: string }> = await dataSource.query(
      'INSERT INTO users (email, password_hash) VALUES ($1, $2) RETURNING id',
      ['race@example.com', HASH],
    );

    const attempts = Array.from({ length: 20 }, () =>
      dataSource.transaction(async (manager) => {
        // TypeORM returns [rows, rowCount] for an UPDATE on postgres.
        const [rows]: [Array<{ id: string }>, number] = await manager.query(
          `UPDATE users SET display_name = 'won' WHERE id = $1 AND display_name IS NULL RETURNING id`,
          [id],
        );
        return rows.length;
      }),
    );
    const wins = await Promise.all(attempts);
    expect(wins.filter((count) => count === 1)).toHaveLength(1);
    expect(wins.filter((count) => count === 0)).toHaveLength(19);
    const [row]: Array<{ display_name: string }> = await dataSource.query('SELECT display_name FROM users WHERE id = $1', [id]);
    expect(row.display_name).toBe('won');
  });

  it('reports the affected row count of UPDATE and DELETE, with and without parameters', async () => {
    const dataSource = await openDataSource();
    for (const email of ['a@example.com', 'b@example.com', 'c@example.com']) {
      await dataSource.query('INSERT INTO users (email, password_hash) VALUES ($1, $2)', [email, HASH]);
    }

    const two = await dataSource
      .createQueryBuilder()
      .update(User)
      .set({ displayName: 'renamed' })
      .where('email IN (:...emails)', { emails: ['a@example.com', 'c@example.com'] })
      .execute();
    expect(two.affected).toBe(2);

    const none = await dataSource
      .createQueryBuilder()
      .update(User)
      .set({ displayName: 'nobody' })
      .where('email = :email', { email: 'missing@example.com' })
      .execute();
    expect(none.affected).toBe(0);

    // A statement without parameters goes through PGlite's exec(): its count must come back too.
    const [, updated] = await dataSource.query(`UPDATE users SET display_name = 'everyone'`);
    expect(updated).toBe(3);
    const [, deleted] = await dataSource.query(`DELETE FROM users WHERE email <> 'b@example.com'`);
    expect(deleted).toBe(2);
    expect(await emails(dataSource)).toEqual(['b@example.com']);

    // The command is read past leading comments, as pg's command tag would report it.
    const [, commented] = await dataSource.query(`-- why\n/* and how */ UPDATE users SET display_name = 'c' WHERE email = $1`, ['b@example.com']);
    expect(commented).toBe(1);
  });

  it('sends parameters as pg does, for the server to type: dates, arrays, JSON, null, numbers, booleans', async () => {
    const dataSource = await openDataSource();
    const when = new Date('2026-01-02T03:04:05.678Z');
    const [row] = await dataSource.query(
      'SELECT $1::timestamptz AS at, $2::text[] AS roles, $3::text AS nothing, $4::int + 1 AS next, $5::jsonb AS doc, $6::boolean AS yes',
      [when, ['user', 'a "quoted", {braced} one'], null, 41, { list: [1, 'two'] }, true],
    );
    expect(row).toEqual({ at: when, roles: ['user', 'a "quoted", {braced} one'], nothing: null, next: 42, doc: { list: [1, 'two'] }, yes: true });

    // Without a cast the column gives the type, as on PostgreSQL.
    const saved = await dataSource.getRepository(User).save({ email: 'typed@example.com', passwordHash: HASH, roles: ['user', 'admin'] } as User);
    const found = await dataSource.getRepository(User).findOneByOrFail({ email: 'typed@example.com' });
    expect(found.roles).toEqual(['user', 'admin']);
    expect(found.createdAt).toBeInstanceOf(Date);
    expect(found.createdAt.getTime()).toBe(saved.createdAt.getTime());
  });

  it("fails a statement with PostgreSQL's error code and leaves the session usable", async () => {
    const dataSource = await openDataSource();
    const insert = 'INSERT INTO users (email, password_hash) VALUES ($1, $2)';
    await dataSource.query(insert, ['twice@example.com', HASH]);
    await expect(dataSource.query(insert, ['twice@example.com', HASH])).rejects.toMatchObject({ driverError: { code: '23505' } });
    await expect(dataSource.query('SELECT $1::int / 0', [1])).rejects.toMatchObject({ driverError: { code: '22012' } });
    await expect(dataSource.query('SELECT count(*)::int AS n FROM users WHERE email = $1', ['twice@example.com'])).resolves.toEqual([{ n: 1 }]);
  });

  it('prepares a parameterised statement once and reuses it, also after a rollback', async () => {
    const dataSource = await openDataSource();
    const insert = 'INSERT INTO users (email, password_hash) VALUES ($1, $2)';
    await dataSource.transaction(async (manager) => {
      await manager.query(insert, ['rolled-back@example.com', HASH]);
      throw new Error('roll back');
    }).catch(() => undefined);
    await dataSource.query(insert, ['first@example.com', HASH]);
    await dataSource.query(insert, ['second@example.com', HASH]);
    expect((await preparedStatements(dataSource)).filter((statement) => statement === insert)).toHaveLength(1);
    expect(await emails(dataSource)).toEqual(['first@example.com', 'second@example.com']);
  });

  it('keeps at most statementCacheSize statements, closing the oldest, and prepares again one that is gone', async () => {
    const dataSource = await openDataSource({ statementCacheSize: 2 });
    const queries = [1, 2, 3].map((n) => `SELECT $1::int + ${n} AS n`);
    for (const sql of queries) await dataSource.query(sql, [1]);
    await dataSource.query(queries[2], [1]); // the next batch closes the evicted one
    expect(await preparedStatements(dataSource)).toEqual([queries[1], queries[2]]);

    await dataSource.query('DEALLOCATE ALL');
    await expect(dataSource.query(queries[2], [40])).resolves.toEqual([{ n: 43 }]);
    expect(await preparedStatements(dataSource)).toEqual([queries[2]]);
  });

  it('fails a connect that waits longer than the lease timeout instead of hanging, then recovers', async () => {
    const dataSource = await openDataSource({ leaseTimeoutMs: 200 });
    const holder = dataSource.createQueryRunner();
    await holder.connect();
    await holder.startTransaction();
    try {
      await expect(dataSource.query('SELECT 1')).rejects.toThrow(/timeout exceeded when trying to connect/);
    } finally {
      await holder.rollbackTransaction();
      await holder.release();
    }
    // The lease won too late by the timed-out attempt is handed back: the database is usable again.
    await expect(dataSource.query('SELECT 1 AS one')).resolves.toEqual([{ one: 1 }]);
  });
});
