import 'reflect-metadata';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from '../../src/database/data-source-options';

/**
 * For unit specs on a real PGlite: creating a cluster takes seconds, so one is created and
 * migrated per spec file, and each test gets a copy of it in a temp directory of its own.
 */
export function useMigratedPglite(name: string) {
  let template: string;
  const cleanups: Array<() => unknown> = [];

  beforeAll(async () => {
    template = mkdtempSync(join(tmpdir(), `${name}-template-`));
    const dataSource = new DataSource(buildDataSourceOptions({ url: undefined, dataDir: template }));
    await dataSource.initialize(); // runs the real migrations
    await dataSource.destroy();
  }, 120_000);

  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()!();
  });

  afterAll(() => rmSync(template, { recursive: true, force: true }));

  return {
    /** A data directory holding a copy of the migrated template, removed after the test. */
    dataDir(): string {
      const dataDir = mkdtempSync(join(tmpdir(), `${name}-`));
      cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
      cpSync(template, dataDir, { recursive: true });
      return dataDir;
    },
    /** Runs `cleanup` after this test (in reverse order of registration). */
    afterThisTest(cleanup: () => unknown): void {
      cleanups.push(cleanup);
    },
  };
}
