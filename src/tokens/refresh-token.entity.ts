import { Check, Column, Entity, ForeignKey, Index, PrimaryColumn, Unique } from 'typeorm';

export type RevocationReason = 'rotated' | 'logout' | 'logout_all' | 'session_revoked' | 'password_changed' | 'reuse_detected';

/**
 * One refresh token, and the revocation list: a row is never updated but to spend or
 * revoke it. A family is every token rotated from one login (a session); its id is the
 * id of its first token. Only a SHA-256 hash of the token is stored.
 */
// The decorators mirror the migration, so that `migration:generate` finds no difference.
@Entity({ name: 'refresh_tokens' })
@Unique('UQ_refresh_tokens_token_hash', ['tokenHash'])
@Index('IDX_refresh_tokens_family', ['familyId'])
@Index('IDX_refresh_tokens_user_live', ['userId'], { where: '"revoked_at" IS NULL' })
@Index('IDX_refresh_tokens_expires_at', ['expiresAt'])
@Check('CHK_refresh_tokens_revocation', `("revoked_at" IS NULL) = ("revoked_reason" IS NULL)`)
@Check(
  'CHK_refresh_tokens_reason',
  `"revoked_reason" IN ('rotated', 'logout', 'logout_all', 'session_revoked', 'password_changed', 'reuse_detected')`,
)
export class RefreshToken {
  @PrimaryColumn('uuid')
  id: string;

  /** users.id; the rows go with the user. Named by string: Tokens does not depend on Users. */
  @ForeignKey('User', { name: 'FK_refresh_tokens_user', onDelete: 'CASCADE' })
  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  @Column({ name: 'family_id', type: 'uuid' })
  familyId: string;

  @Column({ name: 'parent_id', type: 'uuid', nullable: true })
  parentId: string | null;

  @Column({ name: 'token_hash', type: 'varchar', length: 64 })
  tokenHash: string;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;

  /** When it was spent (rotated); null while it is the family's current token. */
  @Column({ name: 'last_used_at', type: 'timestamptz', nullable: true })
  lastUsedAt: Date | null;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt: Date | null;

  @Column({ name: 'revoked_reason', type: 'varchar', length: 20, nullable: true })
  revokedReason: RevocationReason | null;

  @Column({ name: 'user_agent', type: 'varchar', length: 512, nullable: true })
  userAgent: string | null;

  @Column({ type: 'varchar', length: 64, nullable: true })
  ip: string | null;
}
