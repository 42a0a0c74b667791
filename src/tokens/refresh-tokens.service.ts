import { Inject, Injectable, Logger } from '@nestjs/common';
import { Cron, CronExpression } from '@nestjs/schedule';
import { InjectRepository } from '@nestjs/typeorm';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { EntityManager, IsNull, Repository } from 'typeorm';
import { ApiError } from '../common/api-error';
import type { ClientInfo } from '../common/auth';
import { MetricsService } from '../metrics/metrics.service';
import { SessionView } from './dto/session.view';
import { RefreshToken, RevocationReason } from './refresh-token.entity';
import { tokensConfig, TokensConfig } from './tokens.config';

/** `rt_` + 256 random bits, base64url: never a JWS, so it can never pass as an access token. */
const TOKEN_PREFIX = 'rt_';

function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

@Injectable()
export class RefreshTokensService {
  private readonly logger = new Logger('Security');

  constructor(
    @InjectRepository(RefreshToken) private readonly tokens: Repository<RefreshToken>,
    @Inject(tokensConfig.KEY) private readonly config: TokensConfig,
    private readonly metrics: MetricsService,
  ) {}

  get lifetimeSeconds(): number {
    return this.config.refreshTtlSeconds;
  }

  /** Opens a session: the first token of a new family. */
  async openSession(userId: string, client: ClientInfo): Promise<string> {
    const id = randomUUID();
    const { token, ...columns } = this.newToken(client);
    await this.tokens.insert({ id, userId, familyId: id, parentId: null, ...columns });
    return token;
  }

  /**
   * Spends the presented token and returns its successor in the same family
   * (RFC 9700 §4.14). A token that was already spent when the request came is a
   * replay: its whole family is revoked, the thief's copy and the victim's alike.
   */
  async rotate(presented: string, client: ClientInfo): Promise<{ userId: string; refreshToken: string }> {
    const tokenHash = hashToken(presented);
    const seen = await this.tokens.findOneBy({ tokenHash });
    if (seen?.revokedReason === 'rotated') throw await this.reuseDetected(seen, client);
    if (!seen || seen.revokedAt || seen.expiresAt.getTime() <= Date.now()) throw this.invalid();

    const successor = this.newToken(client);
    // One statement, so one transaction and one round trip: the spend is a conditional
    // UPDATE, and the successor is inserted only from the row it spent. Of concurrent
    // requests with this token, exactly one gets a row back; the others lost the race.
    const rows: Array<{ user_id: string }> = await this.tokens.query(
      `WITH spent AS (
         UPDATE refresh_tokens SET revoked_at = now(), revoked_reason = 'rotated', last_used_at = now()
          WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > now()
          RETURNING id, user_id, family_id)
       INSERT INTO refresh_tokens (id, user_id, family_id, parent_id, token_hash, expires_at, user_agent, ip)
       SELECT $2::uuid, user_id, family_id, id, $3, $4::timestamptz, $5, $6 FROM spent
       RETURNING user_id`,
      [tokenHash, randomUUID(), successor.tokenHash, successor.expiresAt, successor.userAgent, successor.ip],
    );
    if (rows.length === 0) throw this.invalid();
    this.metrics.refresh('success');
    return { userId: rows[0].user_id, refreshToken: successor.token };
  }

  /** Ends the family of this token, current or spent. Unknown tokens are ignored. */
  async logout(presented: string): Promise<void> {
    const token = await this.tokens.findOneBy({ tokenHash: hashToken(presented) });
    if (token) await this.revokeFamily(token.familyId, 'logout');
  }

  async revokeAllForUser(userId: string, reason: RevocationReason, manager: EntityManager = this.tokens.manager): Promise<void> {
    await this.revokeLive({ userId }, reason, manager);
  }

  /** Ends one of the caller's live sessions; 404 when it is not one of them. */
  async revokeSession(userId: string, sessionId: string): Promise<void> {
    const revoked = await this.revokeLive({ userId, familyId: sessionId }, 'session_revoked');
    if (revoked === 0) throw new ApiError(404, 'not_found', 'Session not found');
  }

  /** The user's live sessions: families whose current token is neither revoked nor expired. */
  async listSessions(userId: string): Promise<SessionView[]> {
    const rows: Array<Record<string, Date | string | null>> = await this.tokens.query(
      `SELECT current.family_id, root.created_at, current.created_at AS last_used_at,
              current.expires_at, current.user_agent, current.ip
         FROM refresh_tokens current
         JOIN refresh_tokens root ON root.id = current.family_id
        WHERE current.user_id = $1 AND current.revoked_at IS NULL AND current.expires_at > now()
        ORDER BY current.created_at DESC`,
      [userId],
    );
    const iso = (value: Date | string | null) => new Date(value as string | Date).toISOString();
    return rows.map((row) => ({
      id: row.family_id as string,
      createdAt: iso(row.created_at),
      lastUsedAt: iso(row.last_used_at),
      expiresAt: iso(row.expires_at),
      userAgent: row.user_agent as string | null,
      ip: row.ip as string | null,
    }));
  }

  /**
   * Deletes families whose every token has expired. Spent tokens of a live family are
   * kept, so that a replay of one is still recognised as reuse.
   */
  @Cron(CronExpression.EVERY_HOUR, { name: 'purge-expired-refresh-tokens' })
  async purgeExpired(): Promise<number> {
    try {
      const deleted: unknown = await this.tokens.query(
        `DELETE FROM refresh_tokens WHERE family_id IN (
           SELECT family_id FROM refresh_tokens GROUP BY family_id HAVING max(expires_at) <= now())`,
      );
      const count = Array.isArray(deleted) && typeof deleted[1] === 'number' ? deleted[1] : 0;
      if (count > 0) this.logger.log(`Purged ${count} expired refresh tokens`);
      return count;
    } catch (error) {
      this.logger.warn(`Refresh token purge failed: ${(error as Error).message}`);
      return 0;
    }
  }

  private invalid(): ApiError {
    this.metrics.refresh('invalid');
    return new ApiError(401, 'refresh_token_invalid', 'Refresh token is invalid, expired or revoked');
  }

  private async reuseDetected(token: RefreshToken, client: ClientInfo): Promise<ApiError> {
    // Outside any transaction: the revocation commits although the request answers 401.
    await this.revokeFamily(token.familyId, 'reuse_detected');
    this.metrics.refresh('reused');
    this.logger.warn({
      reqId: client.requestId,
      event: 'refresh_token_reuse',
      userId: token.userId,
      familyId: token.familyId,
      ip: client.ip,
      msg: 'A spent refresh token was presented; its family is revoked',
    });
    return new ApiError(401, 'refresh_token_reused', 'Refresh token was already used; the session has been ended');
  }

  private async revokeFamily(familyId: string, reason: RevocationReason): Promise<void> {
    await this.revokeLive({ familyId }, reason);
  }

  /** Revokes the not-yet-revoked tokens that match; spent ones keep `rotated`. Returns how many. */
  private async revokeLive(
    where: Partial<Pick<RefreshToken, 'userId' | 'familyId'>>,
    reason: RevocationReason,
    manager: EntityManager = this.tokens.manager,
  ): Promise<number> {
    const result = await manager.update(RefreshToken, { ...where, revokedAt: IsNull() }, { revokedAt: () => 'now()', revokedReason: reason });
    return result.affected ?? 0;
  }

  /** A new token, and the columns stored for it: its hash, never the token itself. */
  private newToken(client: ClientInfo) {
    const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
    return {
      token,
      tokenHash: hashToken(token),
      expiresAt: new Date(Date.now() + this.lifetimeSeconds * 1000),
      userAgent: client.userAgent?.slice(0, 512) ?? null,
      ip: client.ip?.slice(0, 64) ?? null,
    };
  }
}
