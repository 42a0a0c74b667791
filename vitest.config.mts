import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// SWC compiles the TypeScript: esbuild (Vite's default) drops the decorator metadata that Nest's DI needs.
const plugins = [swc.vite({ module: { type: 'es6' } })];
// Migrated database templates that tests copy (test/support/database-templates.ts).
const globalSetup = ['test/support/global-setup.ts'];

export default defineConfig({
  test: {
    pool: 'forks', // each test file in its own process: its own process.env and its own database
    projects: [
      {
        plugins,
        test: { name: 'unit', include: ['src/**/*.spec.ts'], testTimeout: 30_000, globalSetup },
      },
      {
        plugins,
        test: {
          name: 'e2e',
          include: ['test/**/*.e2e-spec.ts'],
          globalSetup,
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
