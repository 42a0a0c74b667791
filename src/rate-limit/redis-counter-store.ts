import type Redis from 'ioredis';
import type { CounterStore } from './counter-store';

/** INCR and PEXPIRE in one script: the window starts atomically with its first hit. */
const INCREMENT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('PTTL', KEYS[1])}`;

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

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
