import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, TestApp } from './support/test-app';

let app: TestApp;

beforeAll(async () => {
  app = await startApp();
});

afterAll(async () => {
  await app?.close();
});

describe('migrations and entities', () => {
  it('agree: after the migrations, TypeORM finds nothing to change (migration:generate would be empty)', async () => {
    const pending = await app.dataSource.driver.createSchemaBuilder().log();
    expect(pending.upQueries.map((query) => query.query)).toEqual([]);
  });

  it('have all run, in order', async () => {
    const rows: Array<{ name: string }> = await app.dataSource.query('SELECT name FROM migrations ORDER BY id');
    expect(rows.map((row) => row.name)).toEqual(app.dataSource.migrations.map((migration) => migration.name));
  });
});
