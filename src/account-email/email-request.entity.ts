import { Check, Column, Entity, Index, PrimaryColumn } from 'typeorm';
import type { ClientInfo } from '../common/auth';

export type EmailRequestKind = 'verify_email' | 'reset_password';

/**
 * A request for an emailed link (POST /auth/password/forgot, /auth/email/verify/resend),
 * written for every address as the request is answered and handled by
 * EmailRequestsWorker: the answer takes the same work whether the address has an account
 * or not, and a request answered is never lost to a crash before its mail is queued.
 */
// The decorators mirror the migration, so that `migration:generate` finds no difference.
@Entity({ name: 'email_requests' })
@Index('IDX_email_requests_attempts_created_at', ['attempts', 'createdAt'])
@Check('CHK_email_requests_kind', `"kind" IN ('verify_email', 'reset_password')`)
export class EmailRequest {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'PK_email_requests' })
  id: string;

  @Column({ type: 'varchar', length: 20 })
  kind: EmailRequestKind;

  /** Normalised; deleted with the row once the request is handled. */
  @Column({ type: 'varchar', length: 254 })
  email: string;

  /** Who asked, for the audit event of a reset request. */
  @Column({ type: 'jsonb' })
  client: ClientInfo;

  /** Failed tries: the row is dropped after EmailRequestsWorker's last one. */
  @Column({ type: 'int', default: 0 })
  attempts: number;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;
}
