import { Inject, Injectable, Logger } from '@nestjs/common';
import { Cron, CronExpression } from '@nestjs/schedule';
import { InjectRepository } from '@nestjs/typeorm';
import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import { EntityManager, Repository } from 'typeorm';
import { ApiError } from '../common/api-error';
import type { ClientInfo } from '../common/auth';
import { secretsConfig, SecretsConfig } from '../config/secrets.config';
import { MetricsService } from '../metrics/metrics.service';
import { SessionView } from './dto/session.view';
import { RevocationService } from './revocation/revocation.service';
import { AuthMethod, Session, SessionEndReason } from './session.entity';
import { CLOCK_TOLERANCE_SECONDS, tokensConfig, TokensConfig } from './tokens.config';
import { affectedCount } from '../database/query-results';

/** `rt_` + 256 random bits, base64url: never a JWS, so it can never pass as an access token. */
const TOKEN_PREFIX = 'rt_';

function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** How a session was authenticated; a refresh keeps it. */
export interface SessionAssurance {
  amr: AuthMethod[];
  aal: number;
}

export interface OpenedSession {
  sessionId: string;
  refreshToken: string;
}

export interface RotatedSession extends SessionAssurance {
  userId: string;
  sessionId: string;
  refreshToken: string;
}

/**
 * What the caller of rotate() does in the transaction that ends a session whose spent token
 * came back (AuthService records `session.reuse_detected`): Tokens knows nothing above it.
 */
export type ReuseListener = (reuse: { userId: string; sessionId: string }, manager: EntityManager) => Promise<void>;

/** Which live sessions a revocation ends: one (of a user, when given), or every one of a user. */
export type SessionSelector = { sessionId: string; userId?: string } | { userId: string; sessionId?: undefined };

/** A presented token as the first lookup finds it. */
interface PresentedToken {
  session_id: string;
  user_id: string;
  spent_at: Date | null;
  expires_at: Date;
  session_revoked_at: Date | null;
  /** Spent within JWT_REFRESH_REUSE_INTERVAL, by the database's clock, while its session lives. */
  in_reuse_interval: boolean;
}

/** How many rotations a token presented again within the reuse interval may be behind the current one. */
const MAX_GENERATIONS_BEHIND = 16;

@Injectable()
export class RefreshTokensService {
  private readonly logger = new Logger('Security');

  constructor(
    @InjectRepository(Session) private readonly sessions: Repository<Session>,
    @Inject(tokensConfig.KEY) private readonly config: TokensConfig,
    @Inject(secretsConfig.KEY) private readonly secrets: SecretsConfig,
    private readonly revocations: RevocationService,
    private readonly metrics: MetricsService,
  ) {}

  get lifetimeSeconds(): number {
    return this.config.refreshTtlSeconds;
  }

  /** Opens a session and issues its first refresh token, in one statement. */
  async openSession(
    userId: string,
    client: ClientInfo,
    assurance: SessionAssurance = { amr: ['pwd'], aal: 1 },
    manager: EntityManager = this.sessions.manager,
  ): Promise<OpenedSession> {
    const sessionId = randomUUID();
    const token = this.newToken();
    await manager.query(
      `WITH opened AS (
         INSERT INTO sessions (id, user_id, expires_at, user_agent, ip, amr, aal)
         VALUES ($1::uuid, $2::uuid, $3::timestamptz, $4, $5, $6::text[], $7)
         RETURNING id)
       INSERT INTO refresh_tokens (id, session_id, parent_id, token_hash, expires_at)
       SELECT $8::uuid, id, NULL, $9, $3::timestamptz FROM opened`,
      [sessionId, userId, token.expiresAt, ...clientColumns(client), assurance.amr, assurance.aal, randomUUID(), token.hash],
    );
    return { sessionId, refreshToken: token.value };
  }

  /**
   * Spends the presented token and returns its successor in the same session
   * (RFC 9700 §4.14). A token that was already spent when the request came is a replay:
   * its whole session is revoked, the thief's copy and the victim's alike, unless it was
   * spent within JWT_REFRESH_REUSE_INTERVAL and its session lives: then it is a racing tab
   * or a retry, and gets the session's current token (see current()).
   */
  async rotate(presented: string, client: ClientInfo, onReuse?: ReuseListener): Promise<RotatedSession> {
    const tokenHash = hashToken(presented);
    const seen = await this.lookUp(tokenHash);
    if (seen?.spent_at) {
      if (seen.in_reuse_interval) return this.current(presented, seen);
      if (seen.session_revoked_at) throw this.invalid(); // nothing left to end
      throw await this.reuseDetected(seen, client, onReuse);
    }
    if (!seen || seen.session_revoked_at || new Date(seen.expires_at).getTime() <= Date.now()) throw this.invalid();

    const successor = this.newToken(presented);
    // One statement, so one transaction and one round trip. It first locks the session
    // row, as every revocation does (it updates that row): a revocation that came first
    // leaves no live row to lock, and one that comes later waits for this commit and
    // then ends the successor with the session. The spend is a conditional UPDATE, and
    // the successor is inserted only from the row it spent: of concurrent requests with
    // this token, exactly one gets a row back.
    const rows: Array<{ id: string; user_id: string; amr: AuthMethod[]; aal: number }> = await this.sessions.query(
      `WITH live AS (
         SELECT s.id AS session_id, t.id AS token_id
           FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id
          WHERE t.token_hash = $1 AND t.spent_at IS NULL AND t.expires_at > now()
            AND s.revoked_at IS NULL AND s.expires_at > now()
            FOR NO KEY UPDATE OF s),
       spent AS (
         UPDATE refresh_tokens t SET spent_at = now() FROM live
          WHERE t.id = live.token_id AND t.spent_at IS NULL
         RETURNING t.id, t.session_id),
       successor AS (
         INSERT INTO refresh_tokens (id, session_id, parent_id, token_hash, expires_at)
         SELECT $2::uuid, session_id, id, $3, $4::timestamptz FROM spent
         RETURNING session_id),
       touched AS (
         UPDATE sessions s SET last_used_at = now(), expires_at = $4::timestamptz, user_agent = $5, ip = $6
           FROM successor WHERE s.id = successor.session_id
         RETURNING s.id, s.user_id, s.amr, s.aal)
       SELECT id, user_id, amr, aal FROM touched`,
      [tokenHash, randomUUID(), successor.hash, successor.expiresAt, ...clientColumns(client)],
    );
    if (rows.length === 0) {
      // Lost a race with a concurrent refresh of the same token, which spent it a moment ago.
      const raced = await this.lookUp(tokenHash);
      if (raced?.spent_at && raced.in_reuse_interval) return this.current(presented, raced);
      throw this.invalid();
    }
    this.metrics.refresh('success');
    const [row] = rows;
    return { userId: row.user_id, sessionId: row.id, amr: row.amr, aal: Number(row.aal), refreshToken: successor.value };
  }

  /**
   * Ends the session of this token, current or spent, in the caller's transaction when given.
   * Unknown tokens are ignored. Returns the session it ended, if it was live.
   */
  async logout(presented: string, manager?: EntityManager): Promise<{ sessionId: string; userId: string } | undefined> {
    const [token]: Array<{ session_id: string; user_id: string }> = await (manager ?? this.sessions.manager).query(
      'SELECT t.session_id, s.user_id FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id WHERE t.token_hash = $1',
      [hashToken(presented)],
    );
    if (!token) return undefined;
    const ended = await this.revoke({ sessionId: token.session_id }, 'logout', manager);
    return ended.length > 0 ? { sessionId: token.session_id, userId: token.user_id } : undefined;
  }

  async revokeAllForUser(userId: string, reason: SessionEndReason, manager?: EntityManager): Promise<void> {
    await this.revoke({ userId }, reason, manager);
  }

  /** Ends one of the caller's live sessions, in the caller's transaction when given; 404 when it is not one of them. */
  async revokeSession(userId: string, sessionId: string, manager?: EntityManager): Promise<void> {
    const ended = await this.revoke({ userId, sessionId }, 'session_revoked', manager);
    if (ended.length === 0) throw new ApiError(404, 'not_found', 'Session not found');
  }

  /**
   * The one way a session ends: its row is marked revoked, which takes its row lock, so
   * a rotation in flight either finished first (and its successor ends with the session)
   * or finds the session revoked. Returns the ids of the live sessions it ended. In the
   * caller's transaction when a manager is given.
   */
  async revoke(selector: SessionSelector, reason: SessionEndReason, manager?: EntityManager): Promise<string[]> {
    // In a transaction of its own when the caller has none: the revocation's notification
    // to the other instances is sent if and only if the UPDATE commits.
    if (!manager?.queryRunner?.isTransactionActive) {
      return this.sessions.manager.transaction((transaction) => this.revoke(selector, reason, transaction));
    }
    const query = manager
      .createQueryBuilder()
      .update(Session)
      .set({ revokedAt: () => 'now()', revokedReason: reason })
      .where('revoked_at IS NULL AND expires_at > now()');
    if (selector.sessionId !== undefined) query.andWhere('id = :sessionId', { sessionId: selector.sessionId });
    if (selector.userId !== undefined) query.andWhere('user_id = :userId', { userId: selector.userId });
    const result = await query.returning(['id']).execute();
    const ended = (result.raw as Array<{ id: string }>).map((row) => row.id);
    await this.revocations.sessionsEnded(ended, manager);
    return ended;
  }

  /** The user's live sessions: not revoked, and their current refresh token not expired. */
  async listSessions(userId: string): Promise<SessionView[]> {
    const sessions = await this.sessions
      .createQueryBuilder('session')
      .where('session.user_id = :userId AND session.revoked_at IS NULL AND session.expires_at > now()', { userId })
      .orderBy('session.last_used_at', 'DESC')
      .getMany();
    return sessions.map((session) => ({
      id: session.id,
      createdAt: session.createdAt.toISOString(),
      lastUsedAt: session.lastUsedAt.toISOString(),
      expiresAt: session.expiresAt.toISOString(),
      userAgent: session.userAgent,
      ip: session.ip,
    }));
  }

  /**
   * Deletes the sessions none of whose tokens can be used any more, expired or revoked,
   * once every access token they issued has expired too (a revocation is remembered that
   * long); their refresh tokens go with them. Spent tokens of a live session are kept, so
   * that a replay of one is still recognised as reuse.
   */
  @Cron(CronExpression.EVERY_HOUR, { name: 'purge-ended-sessions' })
  async purgeExpired(): Promise<number> {
    try {
      const graceSeconds = this.config.accessTtlSeconds + CLOCK_TOLERANCE_SECONDS;
      const deleted: unknown = await this.sessions.query(
        `DELETE FROM sessions
          WHERE expires_at <= now() - make_interval(secs => $1) OR revoked_at <= now() - make_interval(secs => $1)`,
        [graceSeconds],
      );
      const count = affectedCount(deleted);
      if (count > 0) this.logger.log(`Purged ${count} ended sessions and their refresh tokens`);
      return count;
    } catch (error) {
      this.logger.warn(`Session purge failed: ${(error as Error).message}`);
      return 0;
    }
  }

  private invalid(): ApiError {
    this.metrics.refresh('invalid');
    return new ApiError(401, 'refresh_token_invalid', 'Refresh token is invalid, expired or revoked');
  }

  private async reuseDetected(token: PresentedToken, client: ClientInfo, onReuse?: ReuseListener): Promise<ApiError> {
    // A transaction of its own: the revocation (and the caller's record of it) commits although the request answers 401.
    await this.sessions.manager.transaction(async (manager) => {
      await this.revoke({ sessionId: token.session_id }, 'reuse_detected', manager);
      await onReuse?.({ userId: token.user_id, sessionId: token.session_id }, manager);
    });
    this.metrics.refresh('reused');
    this.logger.warn({
      reqId: client.requestId,
      event: 'refresh_token_reuse',
      userId: token.user_id,
      sessionId: token.session_id,
      ip: client.ip,
      msg: 'A spent refresh token was presented; its session is revoked',
    });
    return new ApiError(401, 'refresh_token_reused', 'Refresh token was already used; the session has been ended');
  }

  /**
   * The clock is clock_timestamp(), not now(): now() is when this statement's transaction
   * began, which can precede the start (and so the spent_at) of a rotation that commits
   * before this statement's snapshot; with an interval of 0 that read as "spent in the
   * future", within the interval, and a concurrent refresh got the current token too.
   */
  private async lookUp(tokenHash: string): Promise<PresentedToken | undefined> {
    const [seen]: PresentedToken[] = await this.sessions.query(
      `SELECT t.session_id, s.user_id, t.spent_at, t.expires_at, s.revoked_at AS session_revoked_at,
              ($2::float8 > 0 AND t.spent_at > clock_timestamp() - make_interval(secs => $2::float8)
                AND s.revoked_at IS NULL AND s.expires_at > now()) AS in_reuse_interval
         FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id WHERE t.token_hash = $1`,
      [tokenHash, this.config.refreshReuseIntervalSeconds],
    );
    return seen;
  }

  /**
   * The session's current refresh token, for a token spent within the reuse interval.
   * Successors are derived (an HMAC of their parent under the server's key), so the
   * current token is found by deriving forward from the presented one until a derivation
   * matches the session's one unspent token: its plaintext is never stored, and nobody
   * without the key can derive it. Then a new access token goes with it, as on a rotation.
   */
  private async current(presented: string, seen: PresentedToken): Promise<RotatedSession> {
    const [live]: Array<{ token_hash: string; amr: AuthMethod[]; aal: number }> = await this.sessions.query(
      `SELECT t.token_hash, s.amr, s.aal FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id
        WHERE t.session_id = $1 AND t.spent_at IS NULL AND t.expires_at > now() AND s.revoked_at IS NULL`,
      [seen.session_id],
    );
    let candidate = presented;
    for (let generation = 0; live && generation < MAX_GENERATIONS_BEHIND; generation += 1) {
      candidate = this.successorOf(candidate);
      if (hashToken(candidate) !== live.token_hash) continue;
      this.metrics.refresh('success');
      return { userId: seen.user_id, sessionId: seen.session_id, amr: live.amr, aal: Number(live.aal), refreshToken: candidate };
    }
    throw this.invalid();
  }

  /** `rt_` + HMAC-SHA-256(key, parent): what rotation issues after `parent`. */
  private successorOf(parent: string): string {
    return TOKEN_PREFIX + createHmac('sha256', this.secrets.refreshTokenKey).update(parent, 'utf8').digest('base64url');
  }

  /**
   * A new token, and what is stored of it: its hash, never the token itself. A session's
   * first token is 256 random bits; each later one is derived from its parent (successorOf).
   */
  private newToken(parent?: string) {
    const value = parent === undefined ? TOKEN_PREFIX + randomBytes(32).toString('base64url') : this.successorOf(parent);
    return { value, hash: hashToken(value), expiresAt: new Date(Date.now() + this.lifetimeSeconds * 1000) };
  }
}

/** The session's user agent and IP columns, cut to their sizes. */
function clientColumns(client: ClientInfo): [string | null, string | null] {
  return [client.userAgent?.slice(0, 512) ?? null, client.ip?.slice(0, 64) ?? null];
}
