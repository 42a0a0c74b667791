import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { databaseConfig } from './src/database/database.config';
import { buildDataSourceOptions } from './src/database/data-source-options';
import { SCHEMA } from './src/schema';

/**
 * The DataSource of the TypeORM CLI (npm run migration:*). It reads the same
 * DATABASE_URL / DATA_DIR as the service. PGlite is single-process: stop the
 * service before running the CLI against its data directory.
 */
export default new DataSource({ ...buildDataSourceOptions(databaseConfig(), SCHEMA), migrationsRun: false });
