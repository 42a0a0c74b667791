import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { PollingWorker } from '../common/polling-worker';
import { returnedRows } from '../database/query-results';
import { AuditService } from '../audit';
import type { ClientInfo } from '../common/auth';
import { accountEmailConfig, AccountEmailConfig } from './account-email.config';
import type { Answered } from './answered.decorator';
import { EmailRequest, EmailRequestKind } from './email-request.entity';
import { EmailTokensService } from './email-tokens.service';
import { EmailVerificationService } from './email-verification.service';
import { lockUser } from './locked-user';

/**
 * How long after the answer has gone the work starts: by then the client has read it, even
 * one on the same machine (a proxy, a benchmark), which the work would otherwise compete
 * with for the CPU, making an account's answer look slower (docs/BENCHMARKS.md).
 */
const AFTER_ANSWER_MS = 50;
/** Rows left by another instance, a crash or a failed try are looked for this often. */
const POLL_INTERVAL_MS = 5_000;
/** Failed tries of one request, with the database reachable, before it is dropped (logged): a bug, not an outage. */
const MAX_ATTEMPTS = 10;

/**
 * Requests for an emailed link ("forgot password", "resend verification"). The request
 * writes a row for every address, known or not (the same work, so the same time, and
 * nothing to tell), and answers; each row is then handled in a transaction of its own that
 * deletes it, locks the account, and queues the link (token and outbox row) and the audit
 * event: a request answered is handled exactly once, by whichever instance takes it
 * (FOR UPDATE SKIP LOCKED), after a crash or an outage too. The work starts AFTER_ANSWER_MS
 * after the answer has gone, and on a poll for rows left over.
 */
@Injectable()
export class EmailRequestsWorker extends PollingWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('AccountEmail');
  /** The database failure being reported, so that an outage is logged once, not every poll. */
  private databaseProblem?: string;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(accountEmailConfig.KEY) private readonly config: AccountEmailConfig,
    private readonly tokens: EmailTokensService,
    private readonly verification: EmailVerificationService,
    private readonly audit: AuditService,
  ) {
    super();
  }

  onApplicationBootstrap(): void {
    this.startPolling();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopPolling();
    await this.running;
  }

  /** Writes the request (the caller answers after this), and handles it once `answered` has gone. */
  async add(kind: EmailRequestKind, email: string, client: ClientInfo, answered: Answered): Promise<void> {
    await this.dataSource.getRepository(EmailRequest).insert({ id: randomUUID(), kind, email, client });
    void answered.sent.then(() => setTimeout(() => void this.runOnce(), AFTER_ANSWER_MS).unref());
  }

  protected pollIntervalMs(): number {
    return POLL_INTERVAL_MS;
  }

  /** Handles rows until none is left, or one fails (the next poll tries again). Never throws. */
  protected async drain(): Promise<void> {
    let current: EmailRequest | undefined;
    try {
      do {
        current = undefined;
        await this.dataSource.transaction(async (manager) => {
          current = returnedRows<EmailRequest>(
            await manager.query(
              `DELETE FROM email_requests WHERE id = (
                 SELECT id FROM email_requests ORDER BY attempts, created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
               RETURNING id, kind, email, client, attempts`,
            ),
          )[0];
          if (current) await this.handle(current, manager);
        });
      } while (current && !this.stopping);
      if (this.databaseProblem) {
        this.logger.log('Email requests reachable again');
        this.databaseProblem = undefined;
      }
    } catch (error) {
      await this.failed(current, error as Error);
    }
  }

  /** In the transaction that deleted the row: nothing for an address without an eligible account. */
  private async handle(request: EmailRequest, manager: EntityManager): Promise<void> {
    const user = await lockUser(manager, { email: request.email });
    if (!user || user.disabled_at !== null) return;
    if (request.kind === 'verify_email') {
      if (user.email_verified_at !== null) return;
      await this.verification.queueLink({ id: user.id, email: user.email, displayName: user.display_name }, manager);
      return;
    }
    await this.tokens.mailLink(
      { userId: user.id, purpose: 'reset_password', ttlSeconds: this.config.resetTtlSeconds, to: user.email, displayName: user.display_name },
      manager,
    );
    // Only for an account: an event never names the address tried for an unknown one.
    await this.audit.record({ type: 'user.password_reset_requested', userId: user.id, actorId: null, client: request.client }, manager);
  }

  /**
   * The transaction failed, so its row is back for the next poll: counted a try, which puts
   * it behind the others (a row that fails for good blocks none), and dropped, logged, at
   * MAX_ATTEMPTS. While the database is unreachable nothing can be counted: an outage is
   * waited out, however long.
   */
  private async failed(request: EmailRequest | undefined, error: Error): Promise<void> {
    const problem = `${error.name}: ${error.message}`;
    if (request) {
      try {
        const [row] = returnedRows<{ attempts: number }>(
          await this.dataSource.query('UPDATE email_requests SET attempts = attempts + 1 WHERE id = $1 RETURNING attempts', [request.id]),
        );
        if (row && row.attempts >= MAX_ATTEMPTS) {
          await this.dataSource.query('DELETE FROM email_requests WHERE id = $1', [request.id]);
          this.logger.error({ event: 'email_request_failed', kind: request.kind, error: problem, msg: `An email request failed ${MAX_ATTEMPTS} times and was dropped` });
          return;
        }
      } catch {
        // The database is down: the try is not counted, and the next poll tries again.
      }
    }
    if (this.databaseProblem === undefined) this.logger.warn({ event: 'email_request_retry', error: problem, msg: 'Email requests failed; retrying every poll' });
    this.databaseProblem = problem;
  }
}
