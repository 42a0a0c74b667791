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
