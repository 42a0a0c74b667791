import type { DataSource } from 'typeorm';
import { AuditEvent } from './audit-event.entity';
import type { AuditEventType } from './audit-event-types';
import { toAuditEventResponse } from './dto/audit-event.response';

export interface AuditExportFilter {
  /** Events created at or after this instant. */
  since: Date;
  /** Events created before this instant; unset: up to now. */
  until?: Date;
  /** Only these types; unset or empty: every type. */
  types?: readonly AuditEventType[];
}

const PAGE = 1000;
const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/**
 * An instant from the command line: an ISO 8601 date or date-time (`2026-11-01`,
 * `2026-11-01T12:00:00Z`), or a duration before `now` (`90s`, `15m`, `12h`, `7d`).
 * Undefined for anything else.
 */
export function parseInstant(value: string, now = new Date()): Date | undefined {
  const duration = /^(\d{1,9})([smhd])$/.exec(value.trim());
  if (duration) return new Date(now.getTime() - Number(duration[1]) * UNITS[duration[2]] * 1000);
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(value.trim())) return undefined;
  const parsed = new Date(value.trim());
  return Number.isNaN(parsed.getTime()) ? undefined : parsed;
}

/**
 * The events of `filter`, oldest first, as NDJSON lines (each ending in "\n"): the contract's
 * event plus `seq`, `piiDigest`, `prevHash` and `hash`, every input of the hash (audit-chain.ts),
 * so that a SIEM holding the lines can recompute the chain itself and notice if the database's
 * copy is ever rewritten. Read a page at a time.
 */
export async function* auditEventLines(dataSource: DataSource, filter: AuditExportFilter): AsyncGenerator<string> {
  let after = '0';
  for (;;) {
    const builder = dataSource
      .getRepository(AuditEvent)
      .createQueryBuilder('event')
      .where('event.seq > :after', { after })
      .andWhere('event.createdAt >= :since', { since: filter.since })
      .orderBy('event.seq', 'ASC')
      .limit(PAGE);
    if (filter.until) builder.andWhere('event.createdAt < :until', { until: filter.until });
    if (filter.types?.length) builder.andWhere('event.type IN (:...types)', { types: filter.types });
    const events = await builder.getMany();
    for (const event of events) {
      const chain = { seq: event.seq, piiDigest: event.piiDigest, prevHash: event.prevHash, hash: event.hash };
      yield `${JSON.stringify({ ...toAuditEventResponse(event), ...chain })}\n`;
    }
    if (events.length < PAGE) return;
    after = events[events.length - 1].seq;
  }
}
