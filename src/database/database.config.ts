import { resolve } from 'node:path';
import { registerAs } from '@nestjs/config';
import { ConfigError, env } from '../config/env';

export const databaseConfig = registerAs('database', () => {
  const url = env.optional('DATABASE_URL');
  if (url !== undefined && !/^postgres(ql)?:\/\//.test(url)) {
    throw new ConfigError('DATABASE_URL', 'must be a postgres:// or postgresql:// URL');
  }
  return {
    /** Unset means the embedded PostgreSQL (PGlite) under `dataDir`. */
    url,
    dataDir: resolve(env.string('DATA_DIR', './data')),
  };
});

export type DatabaseConfig = ReturnType<typeof databaseConfig>;
