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
  /**
   * One attempt at a secret, counted before the secret is checked, in one atomic step:
   * while `keys.block` blocks, refused and not counted (the answer is the milliseconds
   * left); otherwise counted in `keys.count`'s window (answer 0), and from the
   * `backoff.threshold`-th count on it blocks the next attempts for 2^(count − threshold)
   * seconds, at most `backoff.maxMs`. Counting first is what stops a burst of concurrent
   * guesses: each one sees the count of those before it, not the count before any failed.
   */
  attempt(keys: AttemptKeys, backoff: AttemptBackoff): Promise<number>;
  /** Takes back an attempt that checked no secret (it failed for another reason): one count and the block. */
  release(keys: AttemptKeys): Promise<void>;
}

export interface AttemptKeys {
  count: string;
  block: string;
}

export interface AttemptBackoff {
  windowMs: number;
  threshold: number;
  maxMs: number;
}

/** The block an attempt sets once the count has reached the threshold (see CounterStore.attempt). */
export function attemptBlockMs(count: number, { threshold, maxMs }: AttemptBackoff): number {
  return count < threshold ? 0 : Math.min(2 ** (count - threshold) * 1000, maxMs);
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

  attempt(keys: AttemptKeys, backoff: AttemptBackoff) {
    return this.safely(() => this.store.attempt(keys, backoff), 0);
  }

  release(keys: AttemptKeys) {
    return this.safely(() => this.store.release(keys), undefined);
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

  // No await inside: one step of the event loop, as atomic as Redis's script.
  async attempt(keys: AttemptKeys, backoff: AttemptBackoff) {
    const now = Date.now();
    const blocked = this.live(keys.block, now);
    if (blocked) return blocked.expiresAt - now;
    let entry = this.live(keys.count, now);
    if (!entry) {
      entry = { value: 0, expiresAt: now + backoff.windowMs };
      this.entries.set(keys.count, entry);
    }
    entry.value += 1;
    const blockMs = attemptBlockMs(entry.value, backoff);
    if (blockMs > 0) this.entries.set(keys.block, { value: 1, expiresAt: now + blockMs });
    return 0;
  }

  async release(keys: AttemptKeys) {
    const entry = this.live(keys.count, Date.now());
    if (entry && entry.value > 0) entry.value -= 1;
    this.entries.delete(keys.block);
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
