import { Check, Column, Entity, Index, PrimaryColumn } from 'typeorm';

export type OutboxStatus = 'pending' | 'sent' | 'failed';

/**
 * One message of the outbox (docs/DESIGN.md, "Mail"): written in the transaction of the
 * action that causes it, sent by MailWorker. `pending` covers a message being sent: its
 * `next_attempt_at` is then a lease in the future, so that a crash retries it and no
 * other instance takes it meanwhile. A token in `params` is removed once the message is
 * sent or given up.
 */
// The decorators mirror the migration, so that `migration:generate` finds no difference.
@Entity({ name: 'mail_outbox' })
@Index('IDX_mail_outbox_due', ['nextAttemptAt'], { where: `"status" = 'pending'` })
@Index('IDX_mail_outbox_pending_to', ['to'], { where: `"status" = 'pending'` })
@Index('IDX_mail_outbox_pending_user', ['userId'], { where: `"status" = 'pending' AND "user_id" IS NOT NULL` })
@Check('CHK_mail_outbox_status', `"status" IN ('pending', 'sent', 'failed')`)
export class OutboxMessage {
  @PrimaryColumn('uuid')
  id: string;

  /** Normalised (normaliseEmail), as users' addresses are. */
  @Column({ type: 'varchar', length: 320 })
  to: string;

  /** A key of MailTemplateParams. */
  @Column({ type: 'varchar', length: 40 })
  template: string;

  @Column({ type: 'jsonb' })
  params: Record<string, string | null>;

  /** The user the message is about, if any. No foreign key: mail does not depend on users; deleting a user calls deletePendingForUser. */
  @Column({ name: 'user_id', type: 'uuid', nullable: true })
  userId: string | null;

  @Column({ type: 'varchar', length: 10, default: 'pending' })
  status: OutboxStatus;

  /** Tries begun (counted when a worker claims the message, so a crash mid-send counts too). */
  @Column({ type: 'integer', default: 0 })
  attempts: number;

  @Column({ name: 'next_attempt_at', type: 'timestamptz', default: () => 'now()' })
  nextAttemptAt: Date;

  /** The last failure: an error code and the SMTP server's reply, never a token or the message. */
  @Column({ name: 'last_error', type: 'varchar', length: 500, nullable: true })
  lastError: string | null;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;

  @Column({ name: 'sent_at', type: 'timestamptz', nullable: true })
  sentAt: Date | null;
}
