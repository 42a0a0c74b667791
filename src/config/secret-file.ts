import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';

/**
 * Reads the file, or creates it with `generate()` (mode 0600, its folder 0700): written
 * whole under a temporary name, then linked into place, so a process starting at the same
 * moment sees either no file or a complete one. The loser of a race uses the winner's file.
 */
export function loadOrCreateFile(file: string, generate: () => string, onCreate?: (file: string) => void): string {
  const existing = readIfExists(file);
  if (existing !== undefined) return existing;
  mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, generate(), { mode: 0o600 });
  try {
    linkSync(temporary, file);
    onCreate?.(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(temporary);
  }
  return readFileSync(file, 'utf8');
}

function readIfExists(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** For loadOrCreateFile's onCreate: the first start says which key it generated, and where (never the key). */
export function announceGenerated(variable: string): (file: string) => void {
  return (file) => new Logger('Config').log(`Generated a development key for ${variable} into ${file}`);
}
