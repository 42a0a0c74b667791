import { Logger } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { CounterStore, FailOpenCounterStore, MemoryCounterStore } from './counter-store';
import { CounterThrottlerStorage } from './counter-throttler.storage';
import { CredentialBackoffService, loginSubject } from './credential-backoff.service';
import type { RateLimitConfig } from './rate-limit.config';

Logger.overrideLogger(false);

describe('CounterThrottlerStorage', () => {
  it('lets `limit` hits through, then blocks for the block duration with the time left', async () => {
    const storage = new CounterThrottlerStorage(new MemoryCounterStore());
    for (let hit = 1; hit <= 3; hit += 1) {
      expect(await storage.increment('k', 60_000, 3, 30_000)).toMatchObject({ totalHits: hit, isBlocked: false });
    }
    const blocked = await storage.increment('k', 60_000, 3, 30_000);
    expect(blocked).toMatchObject({ isBlocked: true, timeToBlockExpire: 30 });
    expect((await storage.increment('k', 60_000, 3, 30_000)).isBlocked).toBe(true);
    expect((await storage.increment('other', 60_000, 3, 30_000)).isBlocked).toBe(false);
  });

  it('lets requests through when the store fails (Redis down), through the fail-open store', async () => {
    const failing: CounterStore = {
      increment: () => Promise.reject(new Error('connection refused')),
      blockedFor: () => Promise.reject(new Error('connection refused')),
      block: () => Promise.reject(new Error('connection refused')),
      reset: () => Promise.reject(new Error('connection refused')),
      attempt: () => Promise.reject(new Error('connection refused')),
      release: () => Promise.reject(new Error('connection refused')),
    };
    const storage = new CounterThrottlerStorage(new FailOpenCounterStore(failing));
    expect((await storage.increment('k', 60_000, 1, 60_000)).isBlocked).toBe(false);
  });
});

describe('CredentialBackoffService on a failing store', () => {
  it('neither blocks nor throws: login stays available when Redis is down', async () => {
    const failing: CounterStore = {
      increment: () => Promise.reject(new Error('connection refused')),
      blockedFor: () => Promise.reject(new Error('connection refused')),
      block: () => Promise.reject(new Error('connection refused')),
      reset: () => Promise.reject(new Error('connection refused')),
      attempt: () => Promise.reject(new Error('connection refused')),
      release: () => Promise.reject(new Error('connection refused')),
    };
    const config = { backoff: { threshold: 1, windowSeconds: 60, maxSeconds: 60 } } as RateLimitConfig;
    const backoff = new CredentialBackoffService(new FailOpenCounterStore(failing), config);
    const subject = loginSubject('a@example.com');
    await expect(backoff.begin(subject)).resolves.toBe(0);
    await expect(backoff.begin(subject)).resolves.toBe(0);
    await expect(backoff.withdrawn(subject)).resolves.toBeUndefined();
    await expect(backoff.succeeded(subject)).resolves.toBeUndefined();
  });
});
