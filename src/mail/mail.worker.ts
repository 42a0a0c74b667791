import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Cron, CronExpression } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { appConfig, AppConfig } from '../config/app.config';
import { MetricsService } from '../metrics/metrics.service';
import { mailConfig, MailConfig } from './mail.config';
import { MailTemplateError, renderMail, SECRET_PARAM } from './mail-templates';
import { describeSendError, MAIL_TRANSPORT, MailTransport } from './mail-transport';
import { affectedCount, returnedRows } from '../database/query-results';
import { PollingWorker } from '../common/polling-worker';

/** Messages claimed at once by one instance. */
export const BATCH_SIZE = 10;
/** Messages of a batch sent at the same time (one SMTP connection each). */
const SEND_CONCURRENCY = 5;
/** The longest one send may take before it is abandoned (and retried). */
const SEND_TIMEOUT_MS = 30_000;
/**
 * How long a claimed message is left to its instance before another may take it: longer
 * than a batch can take (BATCH_SIZE / SEND_CONCURRENCY sends of SEND_TIMEOUT_MS each), so
 * that only a crashed instance's messages are taken over.
 */
export const LEASE_SECONDS = 120;
/** At shutdown, sends in flight get this long to finish before they are aborted (and retried by whoever runs next). */
const SHUTDOWN_GRACE_MS = 5_000;
/** Sent and given-up rows are deleted after this many days (they keep an address, and nothing else of use). */
const RETENTION_DAYS = 30;

interface ClaimedRow {
  id: string;
  to: string;
  template: string;
  params: Record<string, unknown>;
  attempts: number;
}

/**
 * The delay before the next try of a message that failed `attempts` times: 2^attempts
 * seconds, at most `maxSeconds`, with "equal jitter" (half fixed, half random) so that the
 * messages of one outage do not all come back in the same second.
 */
export function retryDelaySeconds(attempts: number, maxSeconds: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxSeconds, 2 ** Math.max(1, attempts));
  return ceiling / 2 + (ceiling / 2) * random();
}

/**
 * Sends the outbox (docs/DESIGN.md, "Mail"). Every `pollIntervalMs` it claims up to
 * BATCH_SIZE due messages in one statement (`FOR UPDATE SKIP LOCKED`, so that instances
 * never claim the same row, and a lease in `next_attempt_at`, so that a crash mid-send
 * retries later), sends them, and marks each sent (the token dropped) or schedules its
 * next try. All state is in the rows: a restart, or another instance, carries on.
 */
@Injectable()
export class MailWorker extends PollingWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Mail');
  private readonly shutdown = new AbortController();
  /** The database failure being reported, so that an outage is logged once, not every second. */
  private databaseProblem?: string;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(MAIL_TRANSPORT) private readonly transport: MailTransport,
    @Inject(mailConfig.KEY) private readonly config: MailConfig,
    @Inject(appConfig.KEY) private readonly app: AppConfig,
    private readonly metrics: MetricsService,
  ) {
    super();
  }

  onApplicationBootstrap(): void {
    this.metrics.readMailOutboxWith(() => this.outboxState());
    if (this.config.transport.kind === 'files') {
      this.logger.log(`No SMTP_URL: mail is written as .eml files under ${this.config.transport.directory}`);
    }
    this.startPolling();
  }

  /**
   * Before the database closes (onApplicationShutdown): no new batch is claimed, sends in
   * flight get SHUTDOWN_GRACE_MS, then are aborted; claimed messages not sent are released.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopPolling();
    if (this.running) {
      const grace = new Promise<void>((resolve) => setTimeout(resolve, SHUTDOWN_GRACE_MS).unref());
      await Promise.race([this.running, grace]);
      this.shutdown.abort();
      await this.running;
    }
    this.transport.close();
  }

  protected pollIntervalMs(): number {
    return this.config.pollIntervalMs;
  }

  /** Claims and sends batches while they come back full. Never throws. */
  protected async drain(): Promise<void> {
    try {
      let full = true;
      while (full && !this.stopping) {
        const batch = await this.claim();
        full = batch.length === BATCH_SIZE;
        await this.sendBatch(batch);
      }
      if (this.databaseProblem) {
        this.logger.log('Mail outbox reachable again');
        this.databaseProblem = undefined;
      }
    } catch (error) {
      const problem = `${(error as Error).name}: ${(error as Error).message}`;
      if (this.databaseProblem === undefined) this.logger.warn(`Mail outbox unavailable, retrying every poll: ${problem}`);
      this.databaseProblem = problem;
    }
  }

  private async claim(): Promise<ClaimedRow[]> {
    return this.update<ClaimedRow>(
      `UPDATE mail_outbox SET attempts = attempts + 1, next_attempt_at = now() + $2::int * interval '1 second'
        WHERE id IN (SELECT id FROM mail_outbox WHERE status = 'pending' AND next_attempt_at <= now()
                      ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
        RETURNING id, "to", template, params, attempts`,
      [BATCH_SIZE, LEASE_SECONDS],
    );
  }

  /** An UPDATE … RETURNING: TypeORM's postgres driver answers [rows, count] for it. */
  private async update<T>(sql: string, parameters: unknown[]): Promise<T[]> {
    return returnedRows<T>(await this.dataSource.query(sql, parameters));
  }

  private async sendBatch(batch: ClaimedRow[]): Promise<void> {
    const queue = [...batch];
    const lane = async () => {
      for (let row = queue.shift(); row; row = queue.shift()) await this.deliver(row);
    };
    // Every lane settles before the round ends, so that nothing runs on after shutdown.
    const results = await Promise.allSettled(Array.from({ length: Math.min(SEND_CONCURRENCY, batch.length) }, lane));
    const failure = results.find((result) => result.status === 'rejected');
    if (failure) throw failure.reason;
  }

  private async deliver(row: ClaimedRow): Promise<void> {
    if (this.shutdown.signal.aborted) {
      await this.release(row, { tried: false });
      return;
    }
    let content;
    try {
      content = renderMail(row.template, row.params, this.app.appUrl);
    } catch (error) {
      // Retrying cannot help a row that no template can render: given up at once. Any
      // other failure is a bug of ours, which a new version may fix: retried.
      if (error instanceof MailTemplateError) await this.giveUp(row, `render: ${error.message}`.slice(0, 500));
      else await this.failed(row, `render: ${(error as Error).name}`);
      return;
    }
    let where: { file?: string };
    try {
      const signal = AbortSignal.any([this.shutdown.signal, AbortSignal.timeout(SEND_TIMEOUT_MS)]);
      where = await this.transport.send({ id: row.id, from: this.config.from, to: row.to, template: row.template, content }, signal);
    } catch (error) {
      if (this.shutdown.signal.aborted) await this.release(row, { tried: true });
      else await this.failed(row, describeSendError(error));
      return;
    }
    await this.dataSource.query(
      `UPDATE mail_outbox SET status = 'sent', sent_at = now(), params = params - $2::text WHERE id = $1`,
      [row.id, SECRET_PARAM],
    );
    this.metrics.mail('sent');
    if (where.file) {
      // Names the file, never the token or the body: the file itself is the development mailbox.
      this.logger.log({ event: 'mail_written', id: row.id, template: row.template, file: where.file, msg: `Mail written to ${where.file}` });
    } else {
      this.logger.log({ event: 'mail_sent', id: row.id, template: row.template, attempts: row.attempts, msg: 'Mail sent' });
    }
  }

  /**
   * At shutdown, a claimed message not sent (never tried, or its send aborted): any
   * instance may take it at once instead of after the lease. An aborted send keeps its
   * attempt: the server may have accepted the message before the abort.
   */
  private async release(row: ClaimedRow, { tried }: { tried: boolean }): Promise<void> {
    await this.dataSource.query(
      `UPDATE mail_outbox SET next_attempt_at = now(), attempts = attempts - $2::int WHERE id = $1 AND status = 'pending'`,
      [row.id, tried ? 0 : 1],
    );
  }

  /** A failed try: the next one after a growing delay, or, past MAIL_GIVE_UP_AFTER since it was queued, given up. */
  private async failed(row: ClaimedRow, reason: string): Promise<void> {
    const delay = retryDelaySeconds(row.attempts, this.config.retryMaxDelaySeconds);
    const rows = await this.update<{ status: string }>(
      `UPDATE mail_outbox
          SET last_error = $2,
              next_attempt_at = now() + $3::float8 * interval '1 second',
              status = CASE WHEN created_at <= now() - $4::float8 * interval '1 second' THEN 'failed' ELSE 'pending' END,
              params = CASE WHEN created_at <= now() - $4::float8 * interval '1 second' THEN params - $5::text ELSE params END
        WHERE id = $1 AND status = 'pending'
        RETURNING status`,
      [row.id, reason, delay, this.config.giveUpAfterSeconds, SECRET_PARAM],
    );
    if (rows.length === 0) return; // deleted meanwhile (deletePendingTo)
    const gaveUp = rows[0].status === 'failed';
    this.metrics.mail(gaveUp ? 'failed' : 'retry');
    const fields = { event: gaveUp ? 'mail_failed' : 'mail_retry', id: row.id, template: row.template, attempts: row.attempts, error: reason };
    if (gaveUp) this.logger.error({ ...fields, msg: 'Mail given up after MAIL_GIVE_UP_AFTER' });
    else this.logger.warn({ ...fields, retryInSeconds: Math.round(delay), msg: 'Mail not sent; will retry' });
  }

  private async giveUp(row: ClaimedRow, reason: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE mail_outbox SET status = 'failed', last_error = $2, params = params - $3::text WHERE id = $1`,
      [row.id, reason, SECRET_PARAM],
    );
    this.metrics.mail('failed');
    this.logger.error({ event: 'mail_failed', id: row.id, template: row.template, error: reason, msg: 'Mail cannot be rendered; given up' });
  }

  private async outboxState() {
    const [row]: Array<{ pending: number; oldest: number }> = await this.dataSource.query(
      `SELECT count(*)::int AS pending, COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8 AS oldest
         FROM mail_outbox WHERE status = 'pending'`,
    );
    return { pending: Number(row.pending), oldestPendingAgeSeconds: Math.max(0, Number(row.oldest)) };
  }

  /** Sent and given-up messages are kept RETENTION_DAYS for inspection, then deleted. */
  @Cron(CronExpression.EVERY_HOUR, { name: 'purge-mail-outbox' })
  async purgeDone(): Promise<number> {
    try {
      const deleted: unknown = await this.dataSource.query(
        `DELETE FROM mail_outbox WHERE status <> 'pending' AND created_at < now() - $1::int * interval '1 day'`,
        [RETENTION_DAYS],
      );
      return affectedCount(deleted);
    } catch (error) {
      this.logger.warn(`Mail outbox purge failed: ${(error as Error).message}`);
      return 0;
    }
  }
}
