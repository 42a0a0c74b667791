import { randomBytes, randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { Cron, CronExpression } from '@nestjs/schedule';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, EntityManager, Repository } from 'typeorm';
import type { ClientInfo } from '../common/auth';
import { auditConfig, AuditConfig } from './audit.config';
import { chainProblem, ChainPosition, eventHash, nextSeq, piiDigest, type StoredEvent } from './audit-chain';
import { AuditChainMark } from './audit-chain-mark.entity';
import { AuditData, AuditDataError, storableText, StoredAuditData, toStorableAuditData } from './audit-data';
import { AuditEvent } from './audit-event.entity';
import { AuditEventType, isAuditEventType } from './audit-event-types';
import { AuditEventPage, AuditVerification, toAuditEventResponse } from './dto/audit-event.response';
import { decodeCursor, encodeCursor } from './dto/audit-events.query';

/** What a flow records: `audit.record({ type, userId, actorId, client, data }, manager)`. */
export interface AuditRecord {
  type: AuditEventType;
  /** Whom the event is about; null when no account is known (a failed login for an unknown email). */
  userId: string | null;
  /** Who did it: the user, an admin, or null (the system, or a caller not known to be anyone). */
  actorId: string | null;
  /** The request's IP, user agent and id (`@Client()`); omit it for events without a request. */
  client?: ClientInfo | null;
  /**
   * Non-secret details, such as `{ sessionId }` or `{ roles }`. Never a password, token,
   * code, secret or email: a key that names one is refused (AuditDataError).
   */
  data?: AuditData;
}

export interface AuditPageQuery {
  limit: number;
  cursor?: string;
  userId?: string;
  type?: AuditEventType;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Rows read per query by verify() and the purge. */
const BATCH = 1000;

/** How many times verify() walks again when a purge moved the chain's oldest end under it. */
const VERIFY_ATTEMPTS = 3;

/**
 * The audit trail. Flows write through record() with their transaction's manager, so that
 * the event and the change it records commit together or not at all; recordStandalone()
 * writes one that must stay although the request fails (a failed login).
 *
 * Every event is chained to the one before it (audit-chain.ts). Writers take the chain's
 * `head` row with SELECT … FOR UPDATE, which serialises them on one database however many
 * instances share it, insert the next event and move the head, all in the caller's
 * transaction: the lock is held until it commits, so record() belongs at the end of it.
 */
@Injectable()
export class AuditService {
  private readonly logger = new Logger('Audit');

  constructor(
    @InjectRepository(AuditEvent) private readonly events: Repository<AuditEvent>,
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(auditConfig.KEY) private readonly config: AuditConfig,
  ) {}

  /**
   * Writes the event in the caller's transaction (`manager`): if it rolls back, the event is
   * gone too. Call it last: the chain's lock is held from here to the commit. Recording
   * `user.deleted` also blanks the IP and user agent of that user's earlier events.
   */
  async record(event: AuditRecord, manager: EntityManager): Promise<AuditEvent> {
    const row = prepare(event);
    if (event.type === 'user.deleted' && event.userId !== null) {
      // What identified the person goes; the chain holds (the hash covers pii_digest, not the values).
      await manager.query(
        `UPDATE audit_events SET ip = NULL, user_agent = NULL, pii_salt = NULL WHERE user_id = $1 AND pii_salt IS NOT NULL`,
        [event.userId],
      );
      if (event.actorId === event.userId) Object.assign(row, { ip: null, userAgent: null, piiSalt: null });
    }
    // A parameter, so that the PGlite driver keeps the statement prepared.
    const [head]: Array<{ seq: string | number; hash: string; now: Date }> = await manager.query(
      `SELECT seq, hash, date_trunc('milliseconds', clock_timestamp()) AS now FROM audit_chain WHERE name = $1 FOR UPDATE`,
      ['head'],
    );
    if (!head) throw new Error('audit_chain has no head row: the audit migration has not run');
    const chained: AuditEvent = {
      ...row,
      seq: nextSeq(String(head.seq)),
      createdAt: head.now,
      prevHash: head.hash,
      hash: '',
    };
    chained.hash = eventHash(chained);
    await manager.query(
      `WITH inserted AS (
         INSERT INTO audit_events (id, seq, type, user_id, actor_id, ip, user_agent, request_id, created_at, data, pii_salt, pii_digest, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
       )
       UPDATE audit_chain SET seq = $2, hash = $14, event_id = $1 WHERE name = 'head'`,
      [
        chained.id, chained.seq, chained.type, chained.userId, chained.actorId, chained.ip, chained.userAgent,
        chained.requestId, chained.createdAt, JSON.stringify(chained.data), chained.piiSalt, chained.piiDigest,
        chained.prevHash, chained.hash,
      ],
    );
    return chained;
  }

  /** Writes the event in a transaction of its own: for events that stay although the request fails. */
  recordStandalone(event: AuditRecord): Promise<AuditEvent> {
    return this.dataSource.transaction((manager) => this.record(event, manager));
  }

  /** A page of events, newest first; `userId` and `type` narrow it. */
  async list(query: AuditPageQuery): Promise<AuditEventPage> {
    const builder = this.events.createQueryBuilder('event').orderBy('event.seq', 'DESC').limit(query.limit + 1);
    if (query.userId !== undefined) builder.andWhere('event.userId = :userId', { userId: query.userId });
    if (query.type !== undefined) builder.andWhere('event.type = :type', { type: query.type });
    const before = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    if (before !== undefined) builder.andWhere('event.seq < :before', { before });
    const rows = await builder.getMany();
    const items = rows.slice(0, query.limit);
    const more = rows.length > query.limit;
    return { items: items.map(toAuditEventResponse), nextCursor: more ? encodeCursor(items[items.length - 1].seq) : null };
  }

  /**
   * Walks the chain from the purge's anchor to the head, oldest first, recomputing every
   * hash. Short queries, no long transaction: a purge that moves the anchor meanwhile
   * makes it walk again; events written meanwhile lie beyond the head it read first.
   */
  async verify(): Promise<AuditVerification> {
    let result: AuditVerification = { valid: false, checked: 0, firstInvalidId: null };
    for (let attempt = 0; attempt < VERIFY_ATTEMPTS; attempt += 1) {
      const marks = await this.marks();
      if (!marks) return result;
      result = await this.walk(marks.anchor, marks.head);
      if (result.valid) return result;
      // A purge or a user's deletion committed during the walk can look like tampering: walk again.
      const now = await this.marks();
      if (!now || (now.anchor.seq === marks.anchor.seq && now.head.seq === marks.head.seq)) return result;
    }
    return result;
  }

  private async walk(anchor: AuditChainMark, head: AuditChainMark): Promise<AuditVerification> {
    const deletedUsers = new Set<string>();
    let previous: ChainPosition = { seq: anchor.seq, hash: anchor.hash };
    let checked = 0;
    for (;;) {
      const rows = await this.readChain(previous.seq, head.seq);
      await this.findDeletions(rows, anchor, head, deletedUsers);
      for (const row of rows) {
        checked += 1;
        if (chainProblem(row, previous, (userId) => userId !== null && deletedUsers.has(userId))) {
          return { valid: false, checked, firstInvalidId: row.id };
        }
        previous = { seq: row.seq, hash: row.hash };
      }
      if (rows.length < BATCH) break;
    }
    // Deleting the newest events leaves a sound chain that stops short of the head.
    if (previous.seq !== head.seq || previous.hash !== head.hash) return { valid: false, checked, firstInvalidId: head.eventId };
    return { valid: true, checked, firstInvalidId: null };
  }

  /** The next BATCH events after `after`, up to `last`, as plain rows: verify() reads the whole table, and skips TypeORM's entity mapping. */
  private async readChain(after: string, last: string): Promise<StoredEvent[]> {
    const rows: Array<Record<string, unknown>> = await this.dataSource.query(
      `SELECT id, seq::text AS seq, type, user_id, actor_id, ip, user_agent, request_id, created_at, data, pii_salt, pii_digest, prev_hash, hash
       FROM audit_events WHERE audit_events.seq > $1 AND audit_events.seq <= $2 ORDER BY audit_events.seq LIMIT $3`, // the bigint, not the text alias
      [after, last, BATCH],
    );
    return rows.map((row) => ({
      id: row.id as string,
      seq: row.seq as string,
      type: row.type as string,
      userId: row.user_id as string | null,
      actorId: row.actor_id as string | null,
      ip: row.ip as string | null,
      userAgent: row.user_agent as string | null,
      requestId: row.request_id as string | null,
      createdAt: row.created_at as Date,
      data: row.data as StoredAuditData,
      piiSalt: row.pii_salt as string | null,
      piiDigest: row.pii_digest as string,
      prevHash: row.prev_hash as string,
      hash: row.hash as string,
    }));
  }

  /**
   * Adds to `deletedUsers` the users of redacted rows whose `user.deleted` event lies in the
   * part of the chain being walked (so it is verified too): a redaction without one is tampering.
   */
  private async findDeletions(rows: StoredEvent[], anchor: AuditChainMark, head: AuditChainMark, deletedUsers: Set<string>): Promise<void> {
    const unknown = [...new Set(rows.filter((row) => row.piiSalt === null && row.userId !== null && !deletedUsers.has(row.userId)).map((row) => row.userId!))];
    if (unknown.length === 0) return;
    const deletions = await this.events
      .createQueryBuilder('event')
      .select('event.userId')
      .where("event.type = 'user.deleted' AND event.userId IN (:...unknown)", { unknown })
      .andWhere('event.seq > :after AND event.seq <= :last', { after: anchor.seq, last: head.seq })
      .getMany();
    for (const deletion of deletions) deletedUsers.add(deletion.userId!);
  }

  private async marks(): Promise<{ head: AuditChainMark; anchor: AuditChainMark } | undefined> {
    const rows = await this.dataSource.getRepository(AuditChainMark).find();
    const head = rows.find((row) => row.name === 'head');
    const anchor = rows.find((row) => row.name === 'anchor');
    return head && anchor ? { head, anchor } : undefined;
  }

  /** Hourly: deletes the events older than AUDIT_RETENTION. */
  @Cron(CronExpression.EVERY_HOUR, { name: 'purge-audit-events' })
  async purgeExpired(): Promise<number> {
    try {
      const count = await this.purge(new Date(Date.now() - this.config.retentionSeconds * 1000));
      if (count > 0) this.logger.log(`Purged ${count} audit events older than AUDIT_RETENTION`);
      return count;
    } catch (error) {
      this.logger.warn(`Audit event purge failed: ${(error as Error).message}`);
      return 0;
    }
  }

  /**
   * Deletes the oldest events up to the first one created at or after `cutoff` (a prefix of
   * the chain, never a row in the middle), a batch per transaction, and moves the anchor to
   * the last one deleted, so that the chain still verifies. The anchor's row lock makes
   * concurrent purges (several instances) take turns; writers lock the head and never wait.
   */
  async purge(cutoff: Date): Promise<number> {
    let total = 0;
    for (;;) {
      const deleted = await this.dataSource.transaction(async (manager) => {
        const [anchor]: Array<{ seq: string | number }> = await manager.query(`SELECT seq FROM audit_chain WHERE name = $1 FOR UPDATE`, ['anchor']);
        if (!anchor) throw new Error('audit_chain has no anchor row: the audit migration has not run');
        const rows: Array<{ id: string; seq: string | number; hash: string; created_at: Date }> = await manager.query(
          `SELECT id, seq, hash, created_at FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2`,
          [String(anchor.seq), BATCH],
        );
        const young = rows.findIndex((row) => row.created_at.getTime() >= cutoff.getTime());
        const old = young === -1 ? rows : rows.slice(0, young);
        if (old.length === 0) return { count: 0, more: false };
        const last = old[old.length - 1];
        await manager.query(`SELECT set_config('audit.purging', 'on', true)`); // the trigger's leave, for this transaction
        await manager.query(`DELETE FROM audit_events WHERE seq <= $1`, [String(last.seq)]);
        await manager.query(`UPDATE audit_chain SET seq = $1, hash = $2, event_id = $3 WHERE name = 'anchor'`, [String(last.seq), last.hash, last.id]);
        return { count: old.length, more: young === -1 && rows.length === BATCH };
      });
      total += deleted.count;
      if (!deleted.more) return total;
    }
  }
}

/** The row's columns that do not depend on the chain, checked: a mistake here is the caller's code. */
function prepare(event: AuditRecord): Omit<AuditEvent, 'seq' | 'createdAt' | 'prevHash' | 'hash'> {
  if (!isAuditEventType(event.type)) throw new AuditDataError(`unknown event type "${String(event.type)}"`);
  for (const [name, id] of [['userId', event.userId], ['actorId', event.actorId]] as const) {
    if (id !== null && !(typeof id === 'string' && UUID.test(id))) throw new AuditDataError(`${name} must be a UUID or null`);
  }
  const data = toStorableAuditData(event.data ?? {});
  const client = event.client ?? null;
  // Cut to the columns' lengths before making the text storable, which mends a surrogate pair cut in two.
  const ip = client?.ip ? storableText(client.ip.slice(0, 64)) : null;
  const userAgent = client?.userAgent ? storableText(client.userAgent.slice(0, 512)) : null;
  const piiSalt = randomBytes(16).toString('hex');
  return {
    id: randomUUID(),
    type: event.type,
    userId: event.userId?.toLowerCase() ?? null,
    actorId: event.actorId?.toLowerCase() ?? null,
    ip,
    userAgent,
    requestId: client?.requestId ? storableText(client.requestId.slice(0, 64)) : null,
    data,
    piiSalt,
    piiDigest: piiDigest(piiSalt, ip, userAgent),
  };
}
