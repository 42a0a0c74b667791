import { Column, Entity, ForeignKey, Index, PrimaryColumn, Unique } from 'typeorm';

/**
 * One refresh token of a session. A token is usable while it is unspent, unexpired and
 * its session is not revoked: revocation lives on the session row, never here. A row is
 * never updated but to spend it. Only a SHA-256 hash of the token is stored.
 */
// The decorators mirror the migrations, so that `migration:generate` finds no difference.
@Entity({ name: 'refresh_tokens' })
@Unique('UQ_refresh_tokens_token_hash', ['tokenHash'])
@Index('IDX_refresh_tokens_session', ['sessionId'])
export class RefreshToken {
  @PrimaryColumn('uuid')
  id: string;

  /** sessions.id; the tokens go with their session (purge, a deleted user). */
  @ForeignKey('Session', { name: 'FK_refresh_tokens_session', onDelete: 'CASCADE' })
  @Column({ name: 'session_id', type: 'uuid' })
  sessionId: string;

  /** The token this one was rotated from; null for the session's first. */
  @Column({ name: 'parent_id', type: 'uuid', nullable: true })
  parentId: string | null;

  @Column({ name: 'token_hash', type: 'varchar', length: 64 })
  tokenHash: string;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;

  /** When it was rotated; null while it is its session's current token. Presented again, it is reuse. */
  @Column({ name: 'spent_at', type: 'timestamptz', nullable: true })
  spentAt: Date | null;
}
