import type { ThrottlerStorage } from '@nestjs/throttler';
import type { CounterStore } from './counter-store';

/**
 * @nestjs/throttler's storage on our CounterStore, so that the same counters (in memory,
 * or in Redis shared by every instance) serve the IP limits and the login back-off.
 */
export class CounterThrottlerStorage implements ThrottlerStorage {
  constructor(private readonly store: CounterStore) {}

  async increment(key: string, ttl: number, limit: number, blockDuration: number) {
    const blockKey = `throttle:${key}:blocked`;
    const blocked = await this.store.blockedFor(blockKey);
    if (blocked > 0) return record(limit + 1, blocked, blocked);
    const { count, resetInMs } = await this.store.increment(`throttle:${key}`, ttl);
    if (count <= limit) return record(count, resetInMs, 0);
    const blockMs = blockDuration > 0 ? blockDuration : resetInMs;
    await this.store.block(blockKey, blockMs);
    return record(count, resetInMs, blockMs);
  }
}

function record(totalHits: number, expiresInMs: number, blockedForMs: number) {
  return {
    totalHits,
    timeToExpire: Math.ceil(expiresInMs / 1000),
    isBlocked: blockedForMs > 0,
    timeToBlockExpire: Math.ceil(blockedForMs / 1000),
  };
}
