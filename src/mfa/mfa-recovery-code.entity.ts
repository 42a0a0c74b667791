import { Column, Entity, ForeignKey, PrimaryColumn, Unique } from 'typeorm';

/** One recovery code, stored as a keyed hash (MfaCrypto.hashRecoveryCode); usable once. */
// The decorators mirror the migration, so that `migration:generate` finds no difference.
@Entity({ name: 'mfa_recovery_codes' })
@Unique('UQ_mfa_recovery_codes_user_code', ['userId', 'codeHash'])
export class MfaRecoveryCode {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'PK_mfa_recovery_codes' })
  id: string;

  @ForeignKey('User', { name: 'FK_mfa_recovery_codes_user', onDelete: 'CASCADE' })
  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  @Column({ name: 'code_hash', type: 'varchar', length: 64 })
  codeHash: string;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;

  @Column({ name: 'used_at', type: 'timestamptz', nullable: true })
  usedAt: Date | null;
}
