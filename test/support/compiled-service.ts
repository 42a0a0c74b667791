import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { transformFile } from '@swc/core';

/**
 * The service's `src/` compiled to CommonJS in a temporary directory, the way `nest build`
 * makes `dist/` (decorator metadata kept), for tests that need the real code in processes
 * of their own. SWC takes a second where `nest build` takes half a minute, and it never
 * touches `dist/`, which other tests and commands build and delete.
 */
export interface CompiledService {
  /** The directory holding `src/…/*.js`. */
  root: string;
  /** Environment for a child process: finds the project's node_modules from the temporary directory. */
  env: Record<string, string>;
  remove(): void;
}

const PROJECT = join(__dirname, '..', '..');

function sources(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

export async function compileService(): Promise<CompiledService> {
  const root = mkdtempSync(join(tmpdir(), 'compiled-service-'));
  await Promise.all(
    sources(join(PROJECT, 'src')).map(async (file) => {
      const { code } = await transformFile(file, {
        swcrc: false,
        module: { type: 'commonjs' },
        jsc: {
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true },
          target: 'es2022',
          keepClassNames: true,
        },
      });
      const target = join(root, relative(PROJECT, file)).replace(/\.ts$/, '.js');
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, code);
    }),
  );
  return {
    root,
    env: { NODE_PATH: join(PROJECT, 'node_modules') },
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}
