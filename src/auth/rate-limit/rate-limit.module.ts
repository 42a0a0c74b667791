import { Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import Redis from 'ioredis';
import { authConfig, AuthConfig } from '../auth.config';
import { COUNTER_STORE, CounterStore, FailOpenCounterStore, MemoryCounterStore } from './counter-store';
import { RedisCounterStore } from './redis-counter-store';

const logger = new Logger('RateLimit');

/** The counter store, in this process or in Redis (REDIS_URL), for the throttler and the back-off. */
@Module({
  imports: [ConfigModule.forFeature(authConfig)],
  providers: [
    {
      provide: COUNTER_STORE,
      inject: [authConfig.KEY],
      useFactory: async ({ redis }: AuthConfig): Promise<CounterStore> => {
        if (!redis) return new MemoryCounterStore();
        // Every consumer (throttler, back-off) gets the Redis store through the fail-open wrapper.
        // Fail fast rather than queue: a request never waits long on an unreachable Redis.
        const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000 });
        client.on('error', () => undefined); // reported where a command fails; ioredis reconnects by itself
        await client.connect().catch((error: Error) => logger.warn(`Redis unreachable at start (${error.message}); retrying in the background`));
        return new FailOpenCounterStore(new RedisCounterStore(client, redis.prefix));
      },
    },
  ],
  exports: [COUNTER_STORE],
})
export class RateLimitModule implements OnApplicationShutdown {
  constructor(@Inject(COUNTER_STORE) private readonly store: CounterStore & { close?: () => unknown }) {}

  async onApplicationShutdown(): Promise<void> {
    await this.store.close?.();
  }
}
