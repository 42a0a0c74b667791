import { Check, Column, Entity, ForeignKey, Index, PrimaryColumn } from 'typeorm';

/**
 * Why a session ended. The later ones (a reset, an admin disabling a user or ending their
 * sessions) are listed already so that the modules doing them need no migration of this
 * constraint.
 */
export type SessionEndReason =
  | 'logout'
  | 'logout_all'
  | 'session_revoked'
  | 'password_changed'
  | 'reuse_detected'
  | 'password_reset'
  | 'user_disabled'
  | 'admin_revoked';

export const SESSION_END_REASONS: readonly SessionEndReason[] = [
  'logout',
  'logout_all',
  'session_revoked',
  'password_changed',
  'reuse_detected',
  'password_reset',
  'user_disabled',
  'admin_revoked',
];

/** How the session was authenticated (the access tokens' `amr`). */
export const AUTH_METHODS = ['pwd', 'otp', 'recovery_code', 'passkey'] as const;
export type AuthMethod = (typeof AUTH_METHODS)[number];

/**
 * A session: what one register or login opens, and what ends it. Its refresh tokens are
 * rotated one from the other; each is usable only while this row is not revoked. Rotation
 * and every revocation lock this row, so that a revocation either comes first (the
 * rotation then finds it revoked) or waits for the rotation and ends its successor too.
 */
// The decorators mirror the migration, so that `migration:generate` finds no difference.
@Entity({ name: 'sessions' })
@Index('IDX_sessions_user', ['userId'])
@Index('IDX_sessions_expires_at', ['expiresAt'])
@Index('IDX_sessions_revoked_at', ['revokedAt'], { where: '"revoked_at" IS NOT NULL' })
@Check('CHK_sessions_revocation', `("revoked_at" IS NULL) = ("revoked_reason" IS NULL)`)
@Check('CHK_sessions_revoked_reason', `"revoked_reason" IN (${SESSION_END_REASONS.map((reason) => `'${reason}'`).join(', ')})`)
@Check('CHK_sessions_aal', `"aal" IN (1, 2)`)
export class Session {
  /** The id GET /auth/sessions shows, and the access tokens' `sid`. */
  @PrimaryColumn('uuid')
  id: string;

  /** users.id; the rows go with the user. Named by string: Tokens does not depend on Users. */
  @ForeignKey('User', { name: 'FK_sessions_user', onDelete: 'CASCADE' })
  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;

  /** When its refresh token was last rotated (its creation until then). */
  @Column({ name: 'last_used_at', type: 'timestamptz', default: () => 'now()' })
  lastUsedAt: Date;

  /** When its current refresh token expires: after that, none of its tokens can be used. */
  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt: Date | null;

  @Column({ name: 'revoked_reason', type: 'varchar', length: 20, nullable: true })
  revokedReason: SessionEndReason | null;

  /** Of the client that last opened or rotated it. */
  @Column({ name: 'user_agent', type: 'varchar', length: 512, nullable: true })
  userAgent: string | null;

  @Column({ type: 'varchar', length: 64, nullable: true })
  ip: string | null;

  /** Set when the session is opened (MFA, passkeys); refreshes keep them. */
  @Column({ type: 'text', array: true, default: () => "'{pwd}'" })
  amr: AuthMethod[];

  @Column({ type: 'smallint', default: 1 })
  aal: number;
}
