import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../config/env';

export const MIN_SECRET_BYTES = 32;

/**
 * Outside production, a random 256-bit HS256 secret is generated once into DATA_DIR
 * (mode 0600) and reused, so tokens survive a restart without any set-up.
 */
export function loadOrCreateSecret(dataDir: string): Buffer {
  const file = join(dataDir, 'jwt-secret');
  const existing = readSecret(file);
  if (existing) return existing;
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // Written whole under a temporary name, then linked into place: a process starting
  // at the same moment sees either no file or a complete one, never a partial one.
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, randomBytes(32).toString('base64url') + '\n', { mode: 0o600 });
  try {
    linkSync(temporary, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error; // another process won: use theirs
  } finally {
    unlinkSync(temporary);
  }
  return readSecret(file)!;
}

function readSecret(file: string): Buffer | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const secret = Buffer.from(text.trim(), 'base64url');
  if (secret.length < MIN_SECRET_BYTES) {
    throw new ConfigError('JWT_SECRET', `is unset and ${file} holds fewer than ${MIN_SECRET_BYTES} bytes: delete the file or set JWT_SECRET`);
  }
  return secret;
}
