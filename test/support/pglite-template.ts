import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { copyPgliteTemplate } from './database-templates';

/**
 * For unit specs on a real PGlite: creating and migrating a cluster takes seconds, so each
 * test gets a copy of the run's migrated template (test/support/global-setup.ts) in a temp
 * directory of its own.
 */
export function useMigratedPglite(name: string) {
  const cleanups: Array<() => unknown> = [];

  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()!();
  });

  return {
    /** A data directory holding a copy of the migrated template, removed after the test. */
    dataDir(): string {
      const dataDir = mkdtempSync(join(tmpdir(), `${name}-`));
      cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
      copyPgliteTemplate(dataDir);
      return dataDir;
    },
    /** Runs `cleanup` after this test (in reverse order of registration). */
    afterThisTest(cleanup: () => unknown): void {
      cleanups.push(cleanup);
    },
  };
}
