import { Logger } from '@nestjs/common';

/**
 * The counters behind the rate limits and the login back-off: in this process by
 * default, in Redis when REDIS_URL is set so that every instance shares them.
 */
export interface CounterStore {
  /** Counts a hit in a fixed window that starts with the first hit. */
  increment(key: string, windowMs: number): Promise<{ count: number; resetInMs: number }>;
  /** Milliseconds left on a block, 0 when there is none. */
  blockedFor(key: string): Promise<number>;
  block(key: string, ms: number): Promise<void>;
  reset(...keys: string[]): Promise<void>;
}

export const COUNTER_STORE = Symbol('COUNTER_STORE');

const logger = new Logger('RateLimit');

/**
 * A store that never fails its callers: when the one it wraps does (Redis down), the
 * failure is logged and the answer is "no count, no block". Rate limits and the login
 * back-off are then off, but login stays available, and bcrypt's cost still bounds guessing.
 */
export class FailOpenCounterStore implements CounterStore {
  constructor(private readonly store: CounterStore & { close?: () => unknown }) {}

  increment(key: string, windowMs: number) {
    return this.safely(() => this.store.increment(key, windowMs), { count: 0, resetInMs: windowMs });
  }

  blockedFor(key: string) {
    return this.safely(() => this.store.blockedFor(key), 0);
  }

  block(key: string, ms: number) {
    return this.safely(() => this.store.block(key, ms), undefined);
  }

  reset(...keys: string[]) {
    return this.safely(() => this.store.reset(...keys), undefined);
  }

  async close(): Promise<void> {
    await this.store.close?.();
  }

  private async safely<T>(run: () => Promise<T>, fallback: T): Promise<T> {
    try {
      return await run();
    } catch (error) {
      logger.warn(`Rate-limit store unavailable, request let through: ${(error as Error).message}`);
      return fallback;
    }
  }
}

export class MemoryCounterStore implements CounterStore {
  private readonly entries = new Map<string, { value: number; expiresAt: number }>();
  private readonly sweeper = setInterval(() => this.sweep(), 60_000).unref();

  async increment(key: string, windowMs: number) {
    const now = Date.now();
    let entry = this.live(key, now);
    if (!entry) {
      entry = { value: 0, expiresAt: now + windowMs };
      this.entries.set(key, entry);
    }
    entry.value += 1;
    return { count: entry.value, resetInMs: entry.expiresAt - now };
  }

  async blockedFor(key: string) {
    const now = Date.now();
    const entry = this.live(key, now);
    return entry ? entry.expiresAt - now : 0;
  }

  async block(key: string, ms: number) {
    this.entries.set(key, { value: 1, expiresAt: Date.now() + ms });
  }

  async reset(...keys: string[]) {
    for (const key of keys) this.entries.delete(key);
  }

  close(): void {
    clearInterval(this.sweeper);
  }

  private live(key: string, now: number) {
    const entry = this.entries.get(key);
    return entry && entry.expiresAt > now ? entry : undefined;
  }

  private sweep(now = Date.now()): void {
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
  }
}
