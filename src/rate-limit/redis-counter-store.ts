import type Redis from 'ioredis';
import type { AttemptBackoff, AttemptKeys, CounterStore } from './counter-store';

/** INCR and PEXPIRE in one script: the window starts atomically with its first hit. */
const INCREMENT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('PTTL', KEYS[1])}`;

/** CounterStore.attempt in one script (the same steps as MemoryCounterStore.attempt and attemptBlockMs). */
const ATTEMPT = `
local blocked = redis.call('PTTL', KEYS[2])
if blocked > 0 then return blocked end
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local threshold = tonumber(ARGV[2])
if count >= threshold then
  redis.call('SET', KEYS[2], '1', 'PX', math.min(2 ^ (count - threshold) * 1000, tonumber(ARGV[3])))
end
return 0`;

const RELEASE = `
if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then redis.call('DECR', KEYS[1]) end
redis.call('DEL', KEYS[2])
return 0`;

export class RedisCounterStore implements CounterStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async increment(key: string, windowMs: number) {
    const [count, ttl] = (await this.redis.eval(INCREMENT, 1, this.prefix + key, windowMs)) as [number, number];
    return { count, resetInMs: Math.max(ttl, 0) };
  }

  async blockedFor(key: string) {
    return Math.max(await this.redis.pttl(this.prefix + key), 0);
  }

  async block(key: string, ms: number) {
    await this.redis.set(this.prefix + key, '1', 'PX', Math.max(1, Math.ceil(ms)));
  }

  async reset(...keys: string[]) {
    if (keys.length > 0) await this.redis.del(...keys.map((key) => this.prefix + key));
  }

  async attempt(keys: AttemptKeys, { windowMs, threshold, maxMs }: AttemptBackoff) {
    return (await this.redis.eval(ATTEMPT, 2, this.prefix + keys.count, this.prefix + keys.block, windowMs, threshold, maxMs)) as number;
  }

  async release(keys: AttemptKeys) {
    await this.redis.eval(RELEASE, 2, this.prefix + keys.count, this.prefix + keys.block);
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
