import { Check, Column, Entity, ForeignKey, Index, PrimaryColumn, Unique } from 'typeorm';

export type EmailTokenPurpose = 'verify_email' | 'reset_password' | 'change_email';

/**
 * The token of one emailed link: 256 random bits, base64url, of which only the SHA-256 is
 * kept. Single use (`used_at`), until `expires_at`. An email change's token carries the
 * address it confirms.
 */
// The decorators mirror the migration, so that `migration:generate` finds no difference.
@Entity({ name: 'email_tokens' })
@Unique('UQ_email_tokens_token_hash', ['tokenHash'])
@Index('IDX_email_tokens_user', ['userId'])
@Index('IDX_email_tokens_expires_at', ['expiresAt'])
@Check('CHK_email_tokens_purpose', `"purpose" IN ('verify_email', 'reset_password', 'change_email')`)
@Check('CHK_email_tokens_new_email', `("purpose" = 'change_email') = ("new_email" IS NOT NULL)`)
export class EmailToken {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'PK_email_tokens' })
  id: string;

  @ForeignKey('User', { name: 'FK_email_tokens_user', onDelete: 'CASCADE' })
  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  @Column({ type: 'varchar', length: 20 })
  purpose: EmailTokenPurpose;

  @Column({ name: 'token_hash', type: 'varchar', length: 64 })
  tokenHash: string;

  /** The address an email change confirms (normalised); null for the other purposes. */
  @Column({ name: 'new_email', type: 'varchar', length: 254, nullable: true })
  newEmail: string | null;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;

  @Column({ name: 'used_at', type: 'timestamptz', nullable: true })
  usedAt: Date | null;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;
}
