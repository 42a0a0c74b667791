import { resolve } from 'node:path';

/**
 * The one place that reads process.env. Every configuration slice (`*.config.ts`)
 * reads its variables through these helpers, so that a bad value stops the service
 * at start with a message that names the variable.
 */
export class ConfigError extends Error {
  constructor(variable: string, problem: string) {
    super(`Invalid configuration: ${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

function raw(name: string): string | undefined {
  const value = process.env[name];
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

export const env = {
  optional(name: string): string | undefined {
    return raw(name);
  },

  string(name: string, fallback: string): string {
    return raw(name) ?? fallback;
  },

  /** DATA_DIR, resolved: where the embedded database, the outbox's .eml files and generated development keys live. */
  dataDir(): string {
    return resolve(raw('DATA_DIR') ?? './data');
  },
  isProduction(): boolean {
    return raw('NODE_ENV') === 'production';
  },

  int(name: string, fallback: number, range: { min: number; max: number }): number {
    const value = raw(name);
    if (value === undefined) return fallback;
    if (!/^\d+$/.test(value)) throw new ConfigError(name, `must be a whole number, got "${value}"`);
    const parsed = Number(value);
    if (parsed < range.min || parsed > range.max) {
      throw new ConfigError(name, `must be between ${range.min} and ${range.max}, got ${parsed}`);
    }
    return parsed;
  },

  boolean(name: string, fallback: boolean): boolean {
    const value = raw(name)?.toLowerCase();
    if (value === undefined) return fallback;
    if (value === 'true' || value === '1') return true;
    if (value === 'false' || value === '0') return false;
    throw new ConfigError(name, `must be true or false, got "${value}"`);
  },

  /** Seconds as a number, or a number with a unit: `30s`, `15m`, `1h`, `7d`. */
  durationSeconds(name: string, fallback: string, options: { allowZero?: boolean } = {}): number {
    const value = raw(name) ?? fallback;
    const match = /^(\d+)\s*([smhd]?)$/.exec(value);
    const seconds = match ? Number(match[1]) * DURATION_UNITS[match[2] || 's'] : NaN;
    if (!Number.isSafeInteger(seconds) || seconds < 0 || (seconds === 0 && !options.allowZero)) {
      const kind = options.allowZero ? 'a duration' : 'a positive duration';
      throw new ConfigError(name, `must be ${kind} such as 900, 15m, 1h or 7d, got "${value}"`);
    }
    return seconds;
  },

  list(name: string): string[] {
    return (raw(name) ?? '')
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
  },
};

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };
