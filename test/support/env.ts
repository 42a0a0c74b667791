import { afterEach, beforeEach, expect } from 'vitest';
import { ConfigError } from '../../src/config/env';

/**
 * For specs of configuration factories: each test starts with these variables unset
 * (and NODE_ENV=test) and leaves process.env exactly as it found it.
 */
export function isolateEnv(unset: string[]): void {
  let saved: NodeJS.ProcessEnv;
  beforeEach(() => {
    saved = { ...process.env };
    for (const name of unset) delete process.env[name];
    process.env.NODE_ENV = 'test';
  });
  afterEach(() => {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  });
}

/** Runs `read` and returns the ConfigError it throws (fails the test when it throws nothing or something else). */
export function configErrorOf(read: () => unknown): ConfigError {
  try {
    read();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError, but nothing was thrown');
}
