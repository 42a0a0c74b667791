import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DynamicModule, Logger, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { Logger as TypeOrmLogger } from 'typeorm';
import { databaseConfig, DatabaseConfig } from './database.config';
import { buildDataSourceOptions, DatabaseSchema } from './data-source-options';

/** The database connection; AppModule hands it the schema (src/schema.ts), so that this layer names no feature. */
@Module({})
export class DatabaseModule {
  static forRoot(schema: DatabaseSchema): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          imports: [ConfigModule.forFeature(databaseConfig)],
          inject: [databaseConfig.KEY],
          useFactory: (config: DatabaseConfig) => {
            announce(config);
            return {
              ...buildDataSourceOptions(config, schema),
              logger: new MigrationLogger(),
              retryAttempts: 3,
              retryDelay: 1000,
              // Only a server that is not reachable or not ready yet is worth waiting for. The
              // embedded PGlite runs in this process: what failed once fails again.
              toRetry: (error: unknown) => config.url !== undefined && isTransientConnectError(error),
            };
          },
        }),
      ],
    };
  }
}

/** Which database this start uses, and whether it creates it (the embedded one, on a first start). */
function announce(config: DatabaseConfig): void {
  const logger = new Logger('Database');
  if (config.url !== undefined) {
    const url = new URL(config.url); // no user or password in the log
    logger.log(`Using PostgreSQL at ${url.host || 'localhost'}${url.pathname}`);
    return;
  }
  const directory = resolve(join(config.dataDir, 'pgdata'));
  const created = !existsSync(join(directory, 'PG_VERSION'));
  logger.log(`${created ? 'Creating' : 'Opening'} the embedded PostgreSQL database (PGlite) in ${directory}`);
}

/** Refused, unreachable, timed out, starting up (57P03) or full (53300): the server may be there in a moment. */
function isTransientConnectError(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && /^(ECONN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|08|57P03$|53300$)/.test(code)) return true;
  return typeof message === 'string' && /timeout expired|connection terminated|connection timeout/i.test(message);
}

/**
 * TypeORM's logger, for the migrations it runs at start: a line per migration applied.
 * Queries are never logged (their parameters include password hashes), nor anything else.
 */
class MigrationLogger implements TypeOrmLogger {
  private readonly logger = new Logger('Migrations');

  logSchemaBuild(message: string): void {
    const applied = /^Migration (\S+) has been executed successfully\.$/.exec(message);
    const pending = /^(\d+) migrations are new migrations must be executed\.$/.exec(message);
    if (applied) this.logger.log(`Applied migration ${applied[1]}`);
    else if (pending) this.logger.log(`Applying ${pending[1]} migration${pending[1] === '1' ? '' : 's'}`);
    else if (message === 'No migrations are pending') this.logger.log('The schema is up to date: no migration to apply');
    else this.logger.debug(message);
  }

  logMigration(message: string): void {
    this.logger.error(message); // "Migration … failed, error: …"; the start then fails with that error
  }

  logQuery(): void {}
  logQueryError(): void {}
  logQuerySlow(): void {}
  log(): void {}
}
