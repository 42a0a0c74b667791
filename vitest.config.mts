import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// SWC compiles the TypeScript: esbuild (Vite's default) drops the decorator metadata that Nest's DI needs.
const plugins = [swc.vite({ module: { type: 'es6' } })];
// Migrated database templates that tests copy (test/support/database-templates.ts).
const globalSetup = ['test/support/global-setup.ts'];
// A worker runs its files one after another in one process, loading the service's modules once
// (importing them took a third of the run). Every file starts its own service on a database of
// its own, and reads configuration through withEnv/isolateEnv, which restore process.env.
const isolate = false;

export default defineConfig({
  test: {
    pool: 'forks',
    // Vitest's default on 2 cores is one worker; the tests mostly wait on sockets, bcrypt and the database.
    maxWorkers: 2,
    projects: [
      {
        plugins,
        test: { name: 'unit', include: ['src/**/*.spec.ts'], testTimeout: 30_000, globalSetup, isolate },
      },
      {
        plugins,
        test: {
          name: 'e2e',
          include: ['test/**/*.e2e-spec.ts'],
          globalSetup,
          isolate,
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        plugins,
        // `npm run test:browser` only: it needs Debian's Chromium (see README).
        test: { name: 'browser', include: ['test/browser/**/*.browser-spec.ts'], testTimeout: 60_000, hookTimeout: 120_000, globalSetup },
      },
    ],
  },
});
