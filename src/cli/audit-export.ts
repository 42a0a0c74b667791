import 'reflect-metadata';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { DataSource } from 'typeorm';
import { auditEventLines, parseInstant } from '../audit/audit-export';
import { AUDIT_EVENT_TYPES, type AuditEventType, isAuditEventType } from '../audit/audit-event-types';
import { ConfigError } from '../config/env';
import { databaseConfig } from '../database/database.config';
import { buildDataSourceOptions } from '../database/data-source-options';
import { SCHEMA } from '../schema';

const USAGE =
  'usage: npm run audit:export -- --since <ISO date or duration such as 7d> [--until <ISO date or duration>] [--type <event type>]…';

/**
 * npm run audit:export -- --since 7d [--until 2026-11-30] [--type user.login_failed]…
 *
 * Writes the audit events of that time range to stdout, one JSON object a line (NDJSON),
 * oldest first, for a SIEM. Reads the database the service uses (same DATABASE_URL /
 * DATA_DIR) and changes nothing: it runs no migration. With the embedded PGlite, stop the
 * service first: its data directory serves one process at a time.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      since: { type: 'string' },
      until: { type: 'string' },
      type: { type: 'string', multiple: true },
    },
  });
  if (values.since === undefined) throw new UsageError(USAGE);
  const since = parseInstant(values.since);
  if (!since) throw new UsageError(`--since must be an ISO 8601 date or a duration such as 7d\n${USAGE}`);
  const until = values.until === undefined ? undefined : parseInstant(values.until);
  if (values.until !== undefined && !until) throw new UsageError(`--until must be an ISO 8601 date or a duration such as 1d\n${USAGE}`);
  const types = (values.type ?? []).flatMap((type) => type.split(',')).map((type) => type.trim()).filter(Boolean);
  const unknown = types.filter((type) => !isAuditEventType(type));
  if (unknown.length > 0) throw new UsageError(`unknown --type ${unknown.join(', ')}; one of: ${AUDIT_EVENT_TYPES.join(', ')}`);

  const dataSource = new DataSource({ ...buildDataSourceOptions(databaseConfig(), SCHEMA), migrationsRun: false });
  await dataSource.initialize();
  try {
    for await (const line of auditEventLines(dataSource, { since, until, types: types as AuditEventType[] })) {
      if (!process.stdout.write(line)) await once(process.stdout, 'drain');
    }
  } finally {
    await dataSource.destroy();
  }
}

class UsageError extends Error {}

// A reader that stops early (`| head`) is not a failure.
process.stdout.on('error', (error: NodeJS.ErrnoException) => process.exit(error.code === 'EPIPE' ? 0 : 1));

main().catch((error: unknown) => {
  if (error instanceof UsageError || error instanceof ConfigError) {
    console.error(error.message);
  } else if (/relation "audit_events" does not exist/.test(String((error as Error)?.message))) {
    console.error('The database has no audit_events table yet: start the service once (or npm run migration:run) first.');
  } else {
    console.error(error);
  }
  process.exit(1);
});
