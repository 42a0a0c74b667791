import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { CounterStore, FailOpenCounterStore, MemoryCounterStore } from './counter-store';
import { RedisCounterStore } from './redis-counter-store';

// The same behaviour from both stores; the Redis one against the real Redis at 127.0.0.1:6379.
const prefix = `test:${randomBytes(6).toString('hex')}:`;
const redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true });
const stores: Array<[string, () => CounterStore]> = [
  ['memory', () => new MemoryCounterStore()],
  ['redis', () => new RedisCounterStore(redis, prefix)],
  ['fail-open over redis', () => new FailOpenCounterStore(new RedisCounterStore(redis, `${prefix}fail-open:`))],
];

afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(stores)('%s counter store', (_, make) => {
  it('counts hits in a window that starts with the first hit, then starts over', async () => {
    const store = make();
    expect((await store.increment('a', 300)).count).toBe(1);
    const second = await store.increment('a', 300);
    expect(second.count).toBe(2);
    expect(second.resetInMs).toBeGreaterThan(0);
    expect(second.resetInMs).toBeLessThanOrEqual(300);
    await sleep(350);
    expect((await store.increment('a', 300)).count).toBe(1);
  });

  it('keeps keys apart', async () => {
    const store = make();
    await store.increment('b', 10_000);
    expect((await store.increment('c', 10_000)).count).toBe(1);
  });

  it('blocks for a while, then not', async () => {
    const store = make();
    expect(await store.blockedFor('d')).toBe(0);
    await store.block('d', 200);
    const left = await store.blockedFor('d');
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThanOrEqual(200);
    await sleep(250);
    expect(await store.blockedFor('d')).toBe(0);
  });

  it('resets counters and blocks', async () => {
    const store = make();
    await store.increment('e', 10_000);
    await store.block('f', 10_000);
    await store.reset('e', 'f');
    expect((await store.increment('e', 10_000)).count).toBe(1);
    expect(await store.blockedFor('f')).toBe(0);
  });

  it('attempt counts before the check, blocks from the threshold on (at most maxMs), and refuses without counting while blocked', async () => {
    const store = make();
    const keys = { count: 'g', block: 'h' };
    const backoff = { windowMs: 10_000, threshold: 2, maxMs: 200 };
    expect(await store.attempt(keys, backoff)).toBe(0);
    expect(await store.attempt(keys, backoff)).toBe(0); // the second: counted, and blocks the next
    const left = await store.attempt(keys, backoff);
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThanOrEqual(200);
    await sleep(250);
    expect(await store.attempt(keys, backoff)).toBe(0); // the third counted (the refused one was not)
    expect((await store.increment('g', 10_000)).count).toBe(4);
  });

  it('lets no more than the threshold of a burst of concurrent attempts through', async () => {
    const store = make();
    const keys = { count: 'i', block: 'j' };
    const answers = await Promise.all(Array.from({ length: 20 }, () => store.attempt(keys, { windowMs: 10_000, threshold: 5, maxMs: 10_000 })));
    expect(answers.filter((left) => left === 0)).toHaveLength(5);
  });

  it('release takes back one count and the block', async () => {
    const store = make();
    const keys = { count: 'k', block: 'l' };
    const backoff = { windowMs: 10_000, threshold: 2, maxMs: 10_000 };
    await store.attempt(keys, backoff);
    await store.attempt(keys, backoff);
    await store.release(keys);
    expect(await store.blockedFor('l')).toBe(0);
    expect(await store.attempt(keys, backoff)).toBe(0);
    expect(await store.attempt(keys, backoff)).toBeGreaterThan(0);
  });
});

describe('redis counter store', () => {
  it('shares counters between two clients, as between two instances of the service', async () => {
    const other = new Redis('redis://127.0.0.1:6379');
    try {
      const first = new RedisCounterStore(redis, prefix);
      const second = new RedisCounterStore(other, prefix);
      await first.increment('shared', 10_000);
      expect((await second.increment('shared', 10_000)).count).toBe(2);
    } finally {
      await other.quit();
    }
  });
});

describe('fail-open counter store', () => {
  it('answers "no count, no block" when the store it wraps fails, and says so in the log', async () => {
    const lines: string[] = [];
    Logger.overrideLogger({ log: () => undefined, error: () => undefined, warn: (message: string) => void lines.push(message) });
    try {
      const down = new RedisCounterStore(new Redis('redis://127.0.0.1:1', { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 }), prefix);
      const store = new FailOpenCounterStore(down);
      expect(await store.increment('x', 1000)).toEqual({ count: 0, resetInMs: 1000 });
      expect(await store.blockedFor('x')).toBe(0);
      await store.block('x', 1000);
      await store.reset('x');
      expect(lines.filter((line) => line.includes('Rate-limit store unavailable'))).toHaveLength(4);
      await store.close();
    } finally {
      Logger.overrideLogger(false);
    }
  });
});
