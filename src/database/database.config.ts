import { registerAs } from '@nestjs/config';
import { ConfigError, env } from '../config/env';

export const databaseConfig = registerAs('database', () => {
  const url = postgresUrl('DATABASE_URL');
  return {
    /** Unset means the embedded PostgreSQL (PGlite) under `dataDir`. */
    url,
    /**
     * A session-mode connection for LISTEN (revocations between instances); defaults to
     * `url`. Set it when DATABASE_URL goes through PgBouncer in transaction mode.
     */
    listenUrl: postgresUrl('DATABASE_LISTEN_URL'),
    dataDir: env.dataDir(),
  };
});

export type DatabaseConfig = ReturnType<typeof databaseConfig>;

function postgresUrl(variable: string): string | undefined {
  const url = env.optional(variable);
  if (url !== undefined && !/^postgres(ql)?:\/\//.test(url)) {
    throw new ConfigError(variable, 'must be a postgres:// or postgresql:// URL');
  }
  return url;
}
