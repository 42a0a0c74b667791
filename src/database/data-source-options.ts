import { join } from 'node:path';
import type { DataSourceOptions, MigrationInterface } from 'typeorm';
import type { DatabaseConfig } from './database.config';
import { createPgliteDriver } from './pglite-driver';

/** The tables of the service: its modules' entities and migrations (src/schema.ts lists them). */
export interface DatabaseSchema {
  entities: Array<new (...args: never[]) => object>;
  migrations: Array<new (...args: never[]) => MigrationInterface>;
}

/** One description of the database for the app (database.module.ts) and the CLI (ormconfig.ts). */
export function buildDataSourceOptions(config: Pick<DatabaseConfig, 'url' | 'dataDir'>, schema: DatabaseSchema): DataSourceOptions {
  const common = {
    type: 'postgres' as const,
    entities: schema.entities,
    migrations: schema.migrations,
    migrationsRun: true,
    migrationsTransactionMode: 'each' as const,
    synchronize: false,
    // TypeORM's query logger prints parameters, which include password hashes.
    logging: false,
    uuidExtension: 'pgcrypto' as const,
    installExtensions: false,
  };
  if (config.url) {
    return {
      ...common,
      url: config.url,
      poolSize: 10,
      connectTimeoutMS: 3000,
      // A request never waits on a stuck database for long: it fails and gets 503.
      extra: { statement_timeout: 10_000, query_timeout: 15_000, idle_in_transaction_session_timeout: 30_000 },
    };
  }
  return { ...common, driver: createPgliteDriver(join(config.dataDir, 'pgdata')) };
}
