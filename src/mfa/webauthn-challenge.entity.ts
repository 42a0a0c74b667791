import { Check, Column, Entity, ForeignKey, Index, PrimaryColumn, Unique } from 'typeorm';

export type WebauthnPurpose = 'register' | 'login';

/**
 * A WebAuthn challenge handed out with options: kept in the database so that any instance
 * can finish a ceremony another began; single use, 5 minutes.
 *
 * - `register`: `userId` is the user adding a passkey.
 * - `login` with `accountBound` false: discoverable, any registered passkey may answer.
 * - `login` with `accountBound` true: asked for one account by email; only its passkeys may
 *   answer, and with `userId` null (no such account) none can.
 */
// The decorators mirror the migration, so that `migration:generate` finds no difference.
@Entity({ name: 'webauthn_challenges' })
@Unique('UQ_webauthn_challenges_challenge', ['challenge'])
@Index('IDX_webauthn_challenges_user', ['userId'])
@Index('IDX_webauthn_challenges_expires_at', ['expiresAt'])
@Check('CHK_webauthn_challenges_purpose', `"purpose" IN ('register', 'login')`)
@Check('CHK_webauthn_challenges_register_user', `"purpose" <> 'register' OR "user_id" IS NOT NULL`)
export class WebauthnChallenge {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'PK_webauthn_challenges' })
  id: string;

  /** base64url of 32 random bytes, as in the options. */
  @Column({ type: 'varchar', length: 64 })
  challenge: string;

  @Column({ type: 'varchar', length: 16 })
  purpose: WebauthnPurpose;

  @ForeignKey('User', { name: 'FK_webauthn_challenges_user', onDelete: 'CASCADE' })
  @Column({ name: 'user_id', type: 'uuid', nullable: true })
  userId: string | null;

  @Column({ name: 'account_bound', type: 'boolean', default: false })
  accountBound: boolean;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;

  @Column({ name: 'used_at', type: 'timestamptz', nullable: true })
  usedAt: Date | null;
}
