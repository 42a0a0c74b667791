import { Injectable, Logger } from '@nestjs/common';
import { Cron, CronExpression } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { MailService } from '../mail/mail.service';
import type { OutgoingMail } from '../mail/mail-templates';
import type { EmailTokenPurpose } from './email-token.entity';
import { returnedRows } from '../database/query-results';

/** A link's token as mailed: 256 random bits, base64url (43 characters). */
export function newLinkToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashLinkToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** What a valid token stands for. */
export interface SpentToken {
  userId: string;
  /** For an email change: the address it confirms. */
  newEmail: string | null;
}

/** Anything a client may send as a token: longer ones cannot be ours, and are not hashed. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{16,512}$/;

/**
 * The tokens of emailed links (email_tokens). Every write takes the caller's transaction:
 * a token exists if and only if the mail that carries it is queued, and is spent in the
 * transaction of the change it allows.
 */
@Injectable()
export class EmailTokensService {
  private readonly logger = new Logger('AccountEmail');

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly mail: MailService,
  ) {}

  /**
   * Issues a token for this user and purpose and queues the mail that carries it, in the
   * caller's transaction: verification and reset to the account's address, an email
   * change's confirmation to the new one.
   */
  async mailLink(
    link: { userId: string; purpose: EmailTokenPurpose; ttlSeconds: number; to: string; displayName: string | null; newEmail?: string },
    manager: EntityManager,
  ): Promise<void> {
    const { token, expiresAt } = await this.issue(link.userId, link.purpose, link.ttlSeconds, manager, link.newEmail ?? null);
    const params = { token, expiresAt: expiresAt.toISOString(), displayName: link.displayName };
    const message: OutgoingMail =
      link.purpose === 'change_email'
        ? { to: link.to, template: 'confirm_email_change', params: { ...params, newEmail: link.newEmail! }, userId: link.userId }
        : { to: link.to, template: link.purpose, params, userId: link.userId };
    await this.mail.enqueue(message, manager);
  }

  /** A new token for this user and purpose; only its hash is stored. */
  async issue(
    userId: string,
    purpose: EmailTokenPurpose,
    ttlSeconds: number,
    manager: EntityManager,
    newEmail: string | null = null,
  ): Promise<{ token: string; expiresAt: Date }> {
    const token = newLinkToken();
    // The database's clock decides expiry (spend() compares with now()), so it sets it too.
    const [row]: Array<{ expires_at: Date }> = await manager.query(
      `INSERT INTO email_tokens (id, user_id, purpose, token_hash, new_email, expires_at)
       VALUES ($1, $2, $3, $4, $5, now() + $6::int * interval '1 second') RETURNING expires_at`,
      [randomUUID(), userId, purpose, hashLinkToken(token), newEmail, ttlSeconds],
    );
    return { token, expiresAt: new Date(row.expires_at) };
  }

  /**
   * Spends the token, if it is one of this purpose, unused and unexpired: one conditional
   * UPDATE, so that of concurrent requests with one token exactly one gets it (the others
   * wait for its row lock, then find it used). Undefined otherwise.
   */
  async spend(token: string, purpose: EmailTokenPurpose, manager: EntityManager): Promise<SpentToken | undefined> {
    if (!TOKEN_SHAPE.test(token)) return undefined;
    const rows = await update<{ user_id: string; new_email: string | null }>(
      manager,
      `UPDATE email_tokens SET used_at = now()
        WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()
        RETURNING user_id, new_email`,
      [hashLinkToken(token), purpose],
    );
    return rows[0] ? { userId: rows[0].user_id, newEmail: rows[0].new_email } : undefined;
  }

  /** True when spend() would succeed now: a read, for a check that must come before slow work. */
  async isLive(token: string, purpose: EmailTokenPurpose): Promise<boolean> {
    if (!TOKEN_SHAPE.test(token)) return false;
    const rows: unknown[] = await this.dataSource.query(
      `SELECT 1 FROM email_tokens WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()`,
      [hashLinkToken(token), purpose],
    );
    return rows.length > 0;
  }

  /** Spends every unused token of the user (of these purposes, or all). Returns how many. */
  async spendAll(userId: string, manager: EntityManager, purposes?: EmailTokenPurpose[]): Promise<number> {
    const rows = await update<{ id: string }>(
      manager,
      `UPDATE email_tokens SET used_at = now()
        WHERE user_id = $1 AND used_at IS NULL AND expires_at > now() AND ($2::text[] IS NULL OR purpose = ANY($2::text[]))
        RETURNING id`,
      [userId, purposes ?? null],
    );
    return rows.length;
  }

  /** Hourly: tokens a day past their expiry go (used or not, they can do nothing any more). */
  @Cron(CronExpression.EVERY_HOUR, { name: 'purge-email-tokens' })
  async purgeExpired(): Promise<number> {
    try {
      const rows = await update<{ id: string }>(
        this.dataSource.manager,
        `DELETE FROM email_tokens WHERE expires_at < now() - interval '1 day' RETURNING id`,
        [],
      );
      return rows.length;
    } catch (error) {
      this.logger.warn(`Email token purge failed: ${(error as Error).message}`);
      return 0;
    }
  }
}

/** An UPDATE or DELETE … RETURNING: TypeORM's postgres driver answers [rows, count] for it. */
async function update<T>(manager: EntityManager, sql: string, parameters: unknown[]): Promise<T[]> {
  return returnedRows<T>(await manager.query(sql, parameters));
}
