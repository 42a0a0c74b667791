import { Column, Entity, ForeignKey, PrimaryColumn } from 'typeorm';
import { bigintAsNumber } from './bigint.transformer';

/**
 * A user's TOTP authenticator: pending (`enabledAt` null) from setup until a first code
 * enables it. The secret is stored encrypted (MfaCrypto). A code is accepted once: the
 * step it was valid for becomes `lastUsedStep`, and a step at or before it is refused.
 */
// The decorators mirror the migration, so that `migration:generate` finds no difference.
@Entity({ name: 'mfa_totp' })
export class MfaTotp {
  /** users.id; named by string: the MFA module does not depend on Users. */
  @ForeignKey('User', { name: 'FK_mfa_totp_user', onDelete: 'CASCADE' })
  @PrimaryColumn({ name: 'user_id', type: 'uuid', primaryKeyConstraintName: 'PK_mfa_totp' })
  userId: string;

  /** iv ‖ tag ‖ AES-256-GCM ciphertext, with the user id as associated data. */
  @Column({ name: 'secret_ciphertext', type: 'bytea' })
  secretCiphertext: Buffer;

  @Column({ name: 'enabled_at', type: 'timestamptz', nullable: true })
  enabledAt: Date | null;

  /** The 30-second step (Unix time / 30) of the last code accepted; 0 before any. */
  @Column({ name: 'last_used_step', type: 'bigint', default: 0, transformer: bigintAsNumber })
  lastUsedStep: number;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;
}
