import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { isDatabaseFailure } from '../database/database-errors';
import type { Answered } from './answered.decorator';

/**
 * How long after the answer has gone the work starts: by then the client has read it, even
 * one on the same machine (a proxy, a benchmark), which the work would otherwise compete
 * with for the CPU, making an account's answer look slower (docs/BENCHMARKS.md).
 */
const AFTER_ANSWER_MS = 50;

/** Tries of one piece of work when the database fails it, and the waits between them. */
const RETRY_DELAYS_MS = [250, 1000, 4000];

/**
 * Work that a response must not wait for, because its duration would tell something: the
 * answer to "forgot password" or "resend verification" comes as fast for an address with
 * an account as for one without, and only once it is sent (and AFTER_ANSWER_MS more) are
 * the token written and the mail queued (a row of the outbox, sent by MailWorker: never
 * SMTP in a request). Not before: work begun while the answer is still on its way delays
 * it. A database failure is retried a few times; shutdown waits for what is pending or
 * running, before the database closes.
 */
@Injectable()
export class AfterResponse implements BeforeApplicationShutdown {
  private readonly logger = new Logger('AccountEmail');
  private readonly tasks = new Set<Promise<void>>();

  /**
   * Runs `work` once the route's response is sent (its @WhenAnswered() parameter), and
   * AFTER_ANSWER_MS later. `what` names the work in a log line if it fails (never an
   * address or a token).
   */
  run(what: string, answered: Answered, work: () => Promise<void>): void {
    const task: Promise<void> = answered.sent
      .then(() => new Promise((resolve) => setTimeout(resolve, AFTER_ANSWER_MS)))
      .then(() => this.attempt(what, work))
      .finally(() => this.tasks.delete(task));
    this.tasks.add(task);
  }

  /** Resolves once nothing is running (shutdown, and tests that check what the work wrote). */
  async idle(): Promise<void> {
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.idle();
  }

  private async attempt(what: string, work: () => Promise<void>): Promise<void> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        await work();
        return;
      } catch (error) {
        const retry = isDatabaseFailure(error) && attempt < RETRY_DELAYS_MS.length;
        const problem = `${(error as Error).name}: ${(error as Error).message}`;
        if (!retry) {
          this.logger.error({ event: 'email_request_failed', what, error: problem, msg: `${what} failed; the mail was not queued` });
          return;
        }
        this.logger.warn({ event: 'email_request_retry', what, error: problem, msg: `${what} failed; retrying` });
        await new Promise((resolve) => setTimeout(resolve, RETRY_DELAYS_MS[attempt]));
      }
    }
  }
}
