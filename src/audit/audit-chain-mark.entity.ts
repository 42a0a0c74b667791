import { Check, Column, Entity, PrimaryColumn } from 'typeorm';
import { BIGINT_AS_TEXT } from './audit-event.entity';

export type AuditChainMarkName = 'head' | 'anchor';

/**
 * The two ends of the chain, one row each. `head`: the newest event (seq, hash, id); its
 * row lock is what serialises writers, and it is how deleting the newest events is found.
 * `anchor`: the last event the retention purge deleted (seq 0 and GENESIS_HASH before any
 * purge); the oldest remaining event must follow it.
 */
// The decorators mirror the migration, so that `migration:generate` finds no difference.
@Entity({ name: 'audit_chain' })
@Check('CHK_audit_chain_name', `"name" IN ('head', 'anchor')`)
export class AuditChainMark {
  @PrimaryColumn({ type: 'varchar', length: 10 })
  name: AuditChainMarkName;

  @Column({ type: 'bigint', transformer: BIGINT_AS_TEXT })
  seq: string;

  @Column({ type: 'varchar', length: 64 })
  hash: string;

  @Column({ name: 'event_id', type: 'uuid', nullable: true })
  eventId: string | null;
}
