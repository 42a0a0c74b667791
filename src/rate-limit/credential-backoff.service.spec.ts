import 'reflect-metadata';
import { Test } from '@nestjs/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError, hasErrorCode } from '../common/api-error';
import { AttemptBackoff, AttemptKeys, COUNTER_STORE, MemoryCounterStore } from './counter-store';
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

  override attempt(keys: AttemptKeys, backoff: AttemptBackoff) {
    this.keys.add(keys.count).add(keys.block);
    return super.attempt(keys, backoff);
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
  it(`lets ${THRESHOLD} attempts through, then blocks for a delay that doubles from 1 s up to the maximum`, async () => {
    const { backoff } = await setUp();
    const subject = loginSubject('ada@example.com');
    for (let i = 1; i <= THRESHOLD; i += 1) expect(await backoff.begin(subject)).toBe(0); // each counted as wrong
    const delays: number[] = [];
    for (let i = 0; i < 6; i += 1) {
      const delay = await backoff.begin(subject);
      delays.push(delay);
      expect(await backoff.begin(subject)).toBe(delay); // refused, and not counted
      // The block ends by itself, and the count goes on from where it was.
      advanceSeconds(delay);
      expect(await backoff.begin(subject)).toBe(0);
    }
    expect(delays).toEqual([1, 2, 4, 8, 8, 8]);
  });

  it('forgets attempts older than the window', async () => {
    const { backoff } = await setUp();
    const subject = loginSubject('ada@example.com');
    for (let i = 1; i < THRESHOLD; i += 1) await backoff.begin(subject);
    advanceSeconds(WINDOW_SECONDS + 1);
    await backoff.begin(subject);
    expect(await backoff.begin(subject)).toBe(0);
  });

  it('succeeded clears the count and a block in progress', async () => {
    const { backoff } = await setUp();
    const subject = currentPasswordSubject('6f1c2f0e-8a8e-4a57-9d3e-2b1f0c9a7d11');
    for (let i = 0; i < THRESHOLD; i += 1) await backoff.begin(subject);
    expect(await backoff.begin(subject)).toBe(1);
    await backoff.succeeded(subject);
    for (let i = 0; i < THRESHOLD; i += 1) expect(await backoff.begin(subject)).toBe(0); // counted from zero
    expect(await backoff.begin(subject)).toBe(1);
  });

  it('withdrawn takes back one attempt and the block it started', async () => {
    const { backoff } = await setUp();
    const subject = loginSubject('ada@example.com');
    for (let i = 0; i < THRESHOLD; i += 1) await backoff.begin(subject);
    await backoff.withdrawn(subject); // the last one checked no password
    expect(await backoff.begin(subject)).toBe(0);
    expect(await backoff.begin(subject)).toBe(1);
  });

  it('attempt: of a burst of concurrent wrong passwords, only the first threshold are checked; the rest wait', async () => {
    const { backoff } = await setUp();
    const subject = loginSubject('ada@example.com');
    let checked = 0;
    const wrong = async () => {
      checked += 1;
      await new Promise((resolve) => setTimeout(resolve, 5)); // bcrypt's time: the others arrive meanwhile
      throw new ApiError(401, 'invalid_credentials', 'Invalid email or password');
    };
    const answers = await Promise.allSettled(
      Array.from({ length: 20 }, () =>
        backoff.attempt(subject, wrong, (error) => hasErrorCode(error, 'invalid_credentials'), (seconds) => new ApiError(429, 'rate_limited', `wait ${seconds}`)),
      ),
    );
    const codes = answers.map((answer) => (answer.status === 'rejected' && hasErrorCode(answer.reason, 'rate_limited') ? 429 : 401));
    expect(checked).toBe(THRESHOLD);
    expect(codes.filter((code) => code === 401)).toHaveLength(THRESHOLD);
    expect(codes.filter((code) => code === 429)).toHaveLength(20 - THRESHOLD);
  });

  it('attempt: a result resets the count; an error that is not a wrong secret is taken back', async () => {
    const { backoff } = await setUp();
    const subject = loginSubject('ada@example.com');
    const isWrong = (error: unknown) => hasErrorCode(error, 'invalid_credentials');
    const refuse = () => new ApiError(429, 'rate_limited', 'wait');
    for (let i = 1; i < THRESHOLD; i += 1) await backoff.begin(subject);
    await expect(backoff.attempt(subject, () => Promise.reject(new ApiError(503, 'database_unavailable', 'down')), isWrong, refuse)).rejects.toThrow('down');
    await expect(backoff.attempt(subject, async () => 'user', isWrong, refuse)).resolves.toBe('user');
    for (let i = 0; i < THRESHOLD; i += 1) expect(await backoff.begin(subject)).toBe(0); // counted from zero
  });

  it('counts one email whatever its spelling, and keeps emails, users and kinds of check apart', async () => {
    const { backoff } = await setUp({ threshold: 1 });
    await backoff.begin(loginSubject('  Ada@Example.COM '));
    expect(await backoff.begin(loginSubject('ada@example.com'))).toBe(1);
    expect(await backoff.begin(loginSubject('bob@example.com'))).toBe(0);

    const userId = '6f1c2f0e-8a8e-4a57-9d3e-2b1f0c9a7d11';
    expect(await backoff.begin(currentPasswordSubject(userId))).toBe(0);
    expect(await backoff.begin(currentPasswordSubject(userId))).toBe(1);
    expect(await backoff.begin(currentPasswordSubject('0b6a4a43-5d43-4c8e-9e5a-3d2f1b0c9a7e'))).toBe(0);
    // A user id that happens to be typed as an email is still another kind of subject.
    expect(await backoff.begin(loginSubject(userId))).toBe(0);
  });

  it('names no email and no user id in clear in the counter keys (they may sit in a shared Redis)', async () => {
    const { backoff, store } = await setUp({ threshold: 1 });
    const userId = '6f1c2f0e-8a8e-4a57-9d3e-2b1f0c9a7d11';
    await backoff.begin(loginSubject('ada@example.com'));
    await backoff.begin(currentPasswordSubject(userId));
    expect(store.keys.size).toBe(4); // a count and a block for each
    for (const key of store.keys) {
      expect(key).toMatch(/^(login|current-password):[A-Za-z0-9_-]{43}:(failures|blocked)$/);
      expect(key).not.toContain('ada');
      expect(key).not.toContain(userId);
    }
  });
});
