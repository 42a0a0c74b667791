import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CapturedLogs, createTestDatabase, startApp, TestDatabase, usingPostgres } from './support/test-app';
import { SCHEMA } from '../src/schema';

/**
 * What a person reads when the service starts: the first start on an empty database says
 * that it creates the database (the embedded one) and names each migration it applies; a
 * later start on the same database claims to create nothing.
 */
let database: TestDatabase | undefined;

afterAll(async () => {
  await database?.drop();
});

async function startLines(db: TestDatabase): Promise<Array<{ context?: string; msg?: string; level: number }>> {
  const logs = new CapturedLogs();
  const app = await startApp({}, db, logs);
  await app.stop(); // keeps the database for the next start
  return logs.entries() as Array<{ context?: string; msg?: string; level: number }>;
}

const migrationNames = SCHEMA.migrations.map((migration) => new migration().name ?? migration.name);
const CLAIMS_TO_CREATE = /\b(creat|generat|applied|applying)/i;

describe('start-up messages', () => {
  it('the first start names the database it creates and each migration it applies; the next start creates nothing', async () => {
    database = await createTestDatabase({ empty: true });

    const first = await startLines(database);
    const said = (context: string) => first.filter((line) => line.context === context).map((line) => line.msg);
    expect(said('Database')).toEqual([
      usingPostgres()
        ? expect.stringMatching(/^Using PostgreSQL at 127\.0\.0\.1:5432\/auth_e2e_[0-9a-f]+$/)
        : `Creating the embedded PostgreSQL database (PGlite) in ${join(database.env.DATA_DIR, 'pgdata')}`,
    ]);
    const migrations = said('Migrations').filter((msg) => msg?.startsWith('Appl'));
    expect(migrations).toEqual([`Applying ${migrationNames.length} migrations`, ...migrationNames.map((name) => `Applied migration ${name}`)]);
    expect(first.filter((line) => line.level >= 50)).toEqual([]);

    const second = await startLines(database);
    expect(second.filter((line) => line.context === 'Migrations' && line.level >= 30).map((line) => line.msg)).toEqual([
      'The schema is up to date: no migration to apply',
    ]);
    if (!usingPostgres()) {
      expect(second.filter((line) => line.context === 'Database').map((line) => line.msg)).toEqual([
        `Opening the embedded PostgreSQL database (PGlite) in ${join(database.env.DATA_DIR, 'pgdata')}`,
      ]);
    }
    expect(second.filter((line) => line.level >= 30 && CLAIMS_TO_CREATE.test(String(line.msg))).map((line) => line.msg)).toEqual([]);
  });
});
