/**
 * Background work kept as rows (docs/ARCHITECTURE.md): a worker drains its table on a poll
 * and whenever asked (`runOnce`), one drain at a time in a process; the rows themselves,
 * claimed with FOR UPDATE SKIP LOCKED, keep instances apart and survive a restart.
 * Subclasses implement `drain` (which never throws) and call `startPolling` at bootstrap
 * and `stopPolling` at shutdown.
 */
export abstract class PollingWorker {
  protected stopping = false;
  /** The drain in progress, if any. */
  protected running?: Promise<void>;
  private timer?: NodeJS.Timeout;

  /** Takes every row due now, then returns. */
  protected abstract drain(): Promise<void>;

  /** The wait between the end of one polled drain and the next. */
  protected abstract pollIntervalMs(): number;

  /** One drain now, after the one running (tests, and callers that just wrote rows, need not wait for the poll). */
  async runOnce(): Promise<void> {
    while (this.running) await this.running;
    if (this.stopping) return;
    this.running = this.drain().finally(() => (this.running = undefined));
    await this.running;
  }

  protected startPolling(): void {
    this.schedule(0);
  }

  /** No drain starts after this; the one running, if any, is `running`. */
  protected stopPolling(): void {
    this.stopping = true;
    clearTimeout(this.timer);
  }

  private schedule(delayMs: number): void {
    if (this.stopping) return;
    this.timer = setTimeout(() => void this.runOnce().finally(() => this.schedule(this.pollIntervalMs())), delayMs);
    this.timer.unref(); // a worker alone never keeps the process alive
  }
}
