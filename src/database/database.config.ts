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
    dataDir: env.dataDir(),
  };
});

export type DatabaseConfig = ReturnType<typeof databaseConfig>;
