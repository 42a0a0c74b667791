import { Column, Entity, ForeignKey, Index, PrimaryColumn, Unique } from 'typeorm';

/**
 * The second step of a login: the `mfaToken` a correct password earns a user with MFA on.
 * Only the token's SHA-256 is stored. It is good for 5 minutes, for one success, and
 * for fewer than 5 wrong codes.
 */
// The decorators mirror the migration, so that `migration:generate` finds no difference.
@Entity({ name: 'mfa_challenges' })
@Unique('UQ_mfa_challenges_token_hash', ['tokenHash'])
@Index('IDX_mfa_challenges_user', ['userId'])
@Index('IDX_mfa_challenges_expires_at', ['expiresAt'])
export class MfaChallenge {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'PK_mfa_challenges' })
  id: string;

  @ForeignKey('User', { name: 'FK_mfa_challenges_user', onDelete: 'CASCADE' })
  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  @Column({ name: 'token_hash', type: 'varchar', length: 64 })
  tokenHash: string;

  /** The methods the first step used (`["pwd"]`): the session's `amr` begins with them. */
  @Column({ type: 'text', array: true })
  amr: string[];

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;

  @Column({ name: 'failed_attempts', type: 'smallint', default: 0 })
  failedAttempts: number;

  @Column({ name: 'used_at', type: 'timestamptz', nullable: true })
  usedAt: Date | null;
}
