import { Column, Entity, Index, PrimaryColumn, Unique, type ValueTransformer } from 'typeorm';
import type { StoredAuditData } from './audit-data';

/** A bigint as text, whichever driver read it: `pg` gives text, PGlite a number. */
export const BIGINT_AS_TEXT: ValueTransformer = {
  from: (value: string | number | null) => (value === null ? null : String(value)),
  to: (value: unknown) => value,
};

/**
 * One audit event: append-only (a trigger refuses UPDATE, DELETE and TRUNCATE but for the
 * retention purge and the redaction of a deleted user's IP and user agent) and chained:
 * `hash` covers every column and `prev_hash`, see audit-chain.ts. No foreign key to users:
 * events outlive the account they are about.
 */
// The decorators mirror the migration, so that `migration:generate` finds no difference.
@Entity({ name: 'audit_events' })
@Unique('UQ_audit_events_seq', ['seq'])
@Index('IDX_audit_events_user_seq', ['userId', 'seq'])
@Index('IDX_audit_events_type_seq', ['type', 'seq'])
@Index('IDX_audit_events_created_at', ['createdAt'])
export class AuditEvent {
  @PrimaryColumn('uuid')
  id: string;

  /** The position in the chain: 1, 2, 3 … without gaps (bigint, as text). */
  @Column({ type: 'bigint', transformer: BIGINT_AS_TEXT })
  seq: string;

  @Column({ type: 'varchar', length: 64 })
  type: string;

  /** Whom the event is about; null when no account is known. */
  @Column({ name: 'user_id', type: 'uuid', nullable: true })
  userId: string | null;

  /** Who did it: the user, an admin, or null (the system, or an unknown caller). */
  @Column({ name: 'actor_id', type: 'uuid', nullable: true })
  actorId: string | null;

  @Column({ type: 'varchar', length: 64, nullable: true })
  ip: string | null;

  @Column({ name: 'user_agent', type: 'varchar', length: 512, nullable: true })
  userAgent: string | null;

  @Column({ name: 'request_id', type: 'varchar', length: 64, nullable: true })
  requestId: string | null;

  /** The database's clock when the event joined the chain, to the millisecond. */
  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ type: 'jsonb' })
  data: StoredAuditData;

  /** Random, per event; null once the user is deleted (with ip and user_agent). */
  @Column({ name: 'pii_salt', type: 'varchar', length: 32, nullable: true })
  piiSalt: string | null;

  /** SHA-256 over the salt, the IP and the user agent: what the hash covers of them. */
  @Column({ name: 'pii_digest', type: 'varchar', length: 64 })
  piiDigest: string;

  @Column({ name: 'prev_hash', type: 'varchar', length: 64 })
  prevHash: string;

  @Column({ type: 'varchar', length: 64 })
  hash: string;
}
