import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, EntitySubscriberInterface, QueryRunner, TransactionCommitEvent, TransactionRollbackEvent } from 'typeorm';
import { databaseConfig, DatabaseConfig } from '../../database/database.config';
import { CLOCK_TOLERANCE_SECONDS, tokensConfig, TokensConfig } from '../tokens.config';
import { REVOCATION_CHANNEL, RevocationListener } from './revocation-listener';
import { Revocation, revocationCheckOver, RevocationState, RevokedClaims } from './revocation-state';

/** pg_notify's payload is limited to 8000 bytes: session ids travel in chunks. */
const SESSION_IDS_PER_MESSAGE = 150;
const SWEEP_INTERVAL_MS = 60_000;

/**
 * The one way revocation travels (ARCHITECTURE.md, mechanism 2). Whatever ends a session
 * or changes what a user may do calls this service inside its own transaction; the
 * service writes nothing the caller did not, but tells every instance:
 *
 * - on PostgreSQL, with `pg_notify` in the caller's transaction, so that the message is
 *   delivered if and only if the change commits; every instance LISTENs (this one too);
 * - to this instance's memory right after the commit (a TypeORM transaction subscriber),
 *   so that the next request here is refused whatever the channel does.
 *
 * At start, and after the listening connection comes back, the state is reloaded from the
 * tables (sessions revoked, and user cut-offs set, within one access token lifetime), so
 * a missed message costs at most the time the channel was down.
 */
@Injectable()
export class RevocationService implements OnApplicationBootstrap, OnApplicationShutdown, EntitySubscriberInterface {
  private readonly logger = new Logger('Revocation');
  private readonly state = new RevocationState();
  private readonly check = revocationCheckOver(this.state);
  /** Revocations made inside a transaction, applied here when it commits. */
  private readonly pending = new WeakMap<QueryRunner, Revocation[]>();
  private listener: RevocationListener | undefined;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(tokensConfig.KEY) private readonly tokens: TokensConfig,
    @Inject(databaseConfig.KEY) private readonly database: DatabaseConfig,
  ) {
    dataSource.subscribers.push(this);
  }

  async onApplicationBootstrap(): Promise<void> {
    const listenUrl = this.database.listenUrl ?? this.database.url;
    if (listenUrl) {
      this.listener = new RevocationListener(listenUrl, (payload) => this.receive(payload), () => this.reload());
      await this.listener.start();
    } else {
      await this.reload(); // PGlite: one instance, nothing to listen to
    }
    this.sweeper = setInterval(() => void this.sweep(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.sweeper);
    await this.listener?.stop();
  }

  /** The guard's question: memory only. */
  isRevoked(claims: RevokedClaims): boolean {
    return this.check.isRevoked(claims);
  }

  /**
   * The `iat` for a new token of this user: now, or just after a cut-off set within the
   * current second, so that a token issued after a role change is never taken for one
   * issued before it (iat has whole seconds).
   */
  issuedAt(userId: string, now = nowSeconds()): number {
    return this.check.issuedAt(userId, now);
  }

  /** These sessions have ended (their rows are revoked in `manager`'s transaction). */
  async sessionsEnded(sessionIds: string[], manager: EntityManager): Promise<void> {
    if (sessionIds.length === 0) return;
    const forgetAt = this.forgetAt();
    for (let start = 0; start < sessionIds.length; start += SESSION_IDS_PER_MESSAGE) {
      const revocation: Revocation = { kind: 'sessions', sessionIds: sessionIds.slice(start, start + SESSION_IDS_PER_MESSAGE), forgetAt };
      await this.publish(revocation, manager);
    }
  }

  /**
   * Every access token of this user issued before now is revoked (a role change, a
   * disabling). The cut-off is kept in `user_token_cutoffs` for the reload.
   */
  async userTokensRevoked(userId: string, manager: EntityManager): Promise<void> {
    // The next whole second, or one past the previous cut-off: a token issued just after
    // that one carries it as its iat (issuedAt()), and must fall before this one.
    const [row]: Array<{ not_before: number }> = await manager.query(
      `INSERT INTO user_token_cutoffs (user_id, not_before, forget_at)
       VALUES ($1, to_timestamp(ceil(extract(epoch FROM clock_timestamp()))), to_timestamp(ceil(extract(epoch FROM clock_timestamp())) + $2))
       ON CONFLICT (user_id) DO UPDATE
         SET not_before = GREATEST(EXCLUDED.not_before, user_token_cutoffs.not_before + interval '1 second'),
             forget_at = GREATEST(user_token_cutoffs.forget_at, EXCLUDED.forget_at) + interval '1 second'
       RETURNING extract(epoch FROM not_before)::float8 AS not_before`,
      [userId, this.tokens.accessTtlSeconds + CLOCK_TOLERANCE_SECONDS],
    );
    const notBefore = Math.round(row.not_before);
    await this.publish({ kind: 'user', userId, notBefore, forgetAt: this.forgetAt(notBefore) }, manager);
  }

  /** Memory held for the benchmark and the metrics. */
  get size(): { sessions: number; users: number } {
    return this.state.size;
  }

  afterTransactionCommit(event: TransactionCommitEvent): void {
    const revocations = this.pending.get(event.queryRunner);
    if (!revocations) return;
    this.pending.delete(event.queryRunner);
    for (const revocation of revocations) this.state.apply(revocation, nowSeconds());
  }

  afterTransactionRollback(event: TransactionRollbackEvent): void {
    this.pending.delete(event.queryRunner);
  }

  private async publish(revocation: Revocation, manager: EntityManager): Promise<void> {
    if (this.database.url) await manager.query('SELECT pg_notify($1, $2)', [REVOCATION_CHANNEL, JSON.stringify(revocation)]);
    const runner = manager.queryRunner;
    if (runner?.isTransactionActive) {
      const list = this.pending.get(runner) ?? [];
      list.push(revocation);
      this.pending.set(runner, list);
    } else {
      this.state.apply(revocation, nowSeconds());
    }
  }

  /** Forgets, in memory and in the table, what can no longer concern a live token. */
  private async sweep(): Promise<void> {
    this.state.sweep(nowSeconds());
    try {
      await this.dataSource.query('DELETE FROM user_token_cutoffs WHERE forget_at <= now()');
    } catch (error) {
      this.logger.warn(`Purge of expired token cut-offs failed: ${(error as Error).message}`);
    }
  }

  private receive(payload: string): void {
    try {
      this.state.apply(JSON.parse(payload) as Revocation, nowSeconds());
    } catch {
      this.logger.warn({ event: 'revocation_message_unreadable', msg: 'A revocation message could not be read; ignored' });
    }
  }

  /** Loads what may still concern a live access token: sessions ended, and cut-offs set, within one lifetime. */
  private async reload(): Promise<void> {
    const now = nowSeconds();
    const window = this.tokens.accessTtlSeconds + CLOCK_TOLERANCE_SECONDS;
    const sessions: Array<{ id: string; revoked: number }> = await this.dataSource.query(
      `SELECT id, extract(epoch FROM revoked_at)::float8 AS revoked FROM sessions
        WHERE revoked_at IS NOT NULL AND revoked_at > now() - make_interval(secs => $1)`,
      [window],
    );
    for (const session of sessions) {
      this.state.apply({ kind: 'sessions', sessionIds: [session.id], forgetAt: Math.ceil(session.revoked) + window }, now);
    }
    const cutoffs: Array<{ user_id: string; not_before: number; forget_at: number }> = await this.dataSource.query(
      `SELECT user_id, extract(epoch FROM not_before)::float8 AS not_before, extract(epoch FROM forget_at)::float8 AS forget_at
         FROM user_token_cutoffs WHERE forget_at > now()`,
    );
    for (const cutoff of cutoffs) {
      this.state.apply({ kind: 'user', userId: cutoff.user_id, notBefore: cutoff.not_before, forgetAt: cutoff.forget_at }, now);
    }
  }

  private forgetAt(from = nowSeconds()): number {
    return from + this.tokens.accessTtlSeconds + CLOCK_TOLERANCE_SECONDS;
  }
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
