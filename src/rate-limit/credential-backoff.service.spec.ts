import 'reflect-metadata';
import { Test } from '@nestjs/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { COUNTER_STORE, MemoryCounterStore } from './counter-store';
import { CredentialBackoffService, currentPasswordSubject, loginSubject } from './credential-backoff.service';
import { rateLimitConfig, RateLimitConfig } from './rate-limit.config';

const THRESHOLD = 3;
const WINDOW_SECONDS = 900;
const MAX_SECONDS = 8;

/** The real in-memory store, noting the keys it is asked about. */
class NotingStore extends MemoryCounterStore {
  readonly keys = new Set<string>();

  override increment(key: string, windowMs: number) {
    this.keys.add(key);
    return super.increment(key, windowMs);
  }

  override block(key: string, ms: number) {
    this.keys.add(key);
    return super.block(key, ms);
  }
}

const stores: NotingStore[] = [];

afterEach(() => {
  vi.useRealTimers();
  while (stores.length > 0) stores.pop()!.close();
});

/**
 * The service as RateLimitModule provides it, over the in-process counter store, whose
 * clock (Date only) stands still until a test moves it.
 */
async function setUp(backoff: Partial<RateLimitConfig['backoff']> = {}) {
  vi.useFakeTimers({ toFake: ['Date'] });
  const store = new NotingStore();
  stores.push(store);
  const config = {
    perIp: { limit: 10, windowSeconds: 60 },
    backoff: { threshold: THRESHOLD, windowSeconds: WINDOW_SECONDS, maxSeconds: MAX_SECONDS, ...backoff },
    redis: undefined,
  } as RateLimitConfig;
  const module = await Test.createTestingModule({
    providers: [CredentialBackoffService, { provide: COUNTER_STORE, useValue: store }, { provide: rateLimitConfig.KEY, useValue: config }],
  }).compile();
  return { backoff: module.get(CredentialBackoffService), store };
}

/** Moves the clock the counter store reads (Date only: nothing else is faked). */
function advanceSeconds(seconds: number): void {
  vi.setSystemTime(Date.now() + seconds * 1000);
}

describe('CredentialBackoffService', () => {
  it(`lets ${THRESHOLD - 1} failures pass, then blocks for a delay that doubles from 1 s up to the maximum`, async () => {
    const { backoff } = await setUp();
    const subject = loginSubject('ada@example.com');
    for (let i = 1; i < THRESHOLD; i += 1) {
      await backoff.recordFailure(subject);
      expect(await backoff.retryAfterSeconds(subject)).toBe(0);
    }
    const delays: number[] = [];
    for (let i = 0; i < 6; i += 1) {
      await backoff.recordFailure(subject);
      delays.push(await backoff.retryAfterSeconds(subject));
    }
    expect(delays).toEqual([1, 2, 4, 8, 8, 8]);

    // The block ends by itself, and the count goes on from where it was.
    advanceSeconds(MAX_SECONDS);
    expect(await backoff.retryAfterSeconds(subject)).toBe(0);
    await backoff.recordFailure(subject);
    expect(await backoff.retryAfterSeconds(subject)).toBe(MAX_SECONDS);
  });

  it('forgets failures older than the window', async () => {
    const { backoff } = await setUp();
    const subject = loginSubject('ada@example.com');
    for (let i = 1; i < THRESHOLD; i += 1) await backoff.recordFailure(subject);
    advanceSeconds(WINDOW_SECONDS + 1);
    await backoff.recordFailure(subject);
    expect(await backoff.retryAfterSeconds(subject)).toBe(0);
  });

  it('recordSuccess clears the count and a block in progress', async () => {
    const { backoff } = await setUp();
    const subject = currentPasswordSubject('6f1c2f0e-8a8e-4a57-9d3e-2b1f0c9a7d11');
    for (let i = 0; i < THRESHOLD; i += 1) await backoff.recordFailure(subject);
    expect(await backoff.retryAfterSeconds(subject)).toBe(1);
    await backoff.recordSuccess(subject);
    expect(await backoff.retryAfterSeconds(subject)).toBe(0);
    for (let i = 1; i < THRESHOLD; i += 1) await backoff.recordFailure(subject);
    expect(await backoff.retryAfterSeconds(subject)).toBe(0); // counted from zero
  });

  it('counts one email whatever its spelling, and keeps emails, users and kinds of check apart', async () => {
    const { backoff } = await setUp({ threshold: 1 });
    await backoff.recordFailure(loginSubject('  Ada@Example.COM '));
    expect(await backoff.retryAfterSeconds(loginSubject('ada@example.com'))).toBe(1);
    expect(await backoff.retryAfterSeconds(loginSubject('bob@example.com'))).toBe(0);

    const userId = '6f1c2f0e-8a8e-4a57-9d3e-2b1f0c9a7d11';
    expect(await backoff.retryAfterSeconds(currentPasswordSubject(userId))).toBe(0);
    await backoff.recordFailure(currentPasswordSubject(userId));
    expect(await backoff.retryAfterSeconds(currentPasswordSubject(userId))).toBe(1);
    expect(await backoff.retryAfterSeconds(currentPasswordSubject('0b6a4a43-5d43-4c8e-9e5a-3d2f1b0c9a7e'))).toBe(0);
    // A user id that happens to be typed as an email is still another kind of subject.
    expect(await backoff.retryAfterSeconds(loginSubject(userId))).toBe(0);
  });

  it('names no email and no user id in clear in the counter keys (they may sit in a shared Redis)', async () => {
    const { backoff, store } = await setUp({ threshold: 1 });
    const userId = '6f1c2f0e-8a8e-4a57-9d3e-2b1f0c9a7d11';
    await backoff.recordFailure(loginSubject('ada@example.com'));
    await backoff.recordFailure(currentPasswordSubject(userId));
    expect(store.keys.size).toBe(4); // a count and a block for each
    for (const key of store.keys) {
      expect(key).toMatch(/^(login|current-password):[A-Za-z0-9_-]{43}:(failures|blocked)$/);
      expect(key).not.toContain('ada');
      expect(key).not.toContain(userId);
    }
  });
});
