import { Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { ThrottlerModule } from '@nestjs/throttler';
import Redis from 'ioredis';
import { COUNTER_STORE, CounterStore, FailOpenCounterStore, MemoryCounterStore } from './counter-store';
import { CounterThrottlerStorage } from './counter-throttler.storage';
import { CredentialBackoffService } from './credential-backoff.service';
import { CurrentPasswordBackoffInterceptor } from './current-password-backoff.interceptor';
import { ClientRateLimitGuard } from './guards/client-rate-limit.guard';
import { rateLimitConfig, RateLimitConfig } from './rate-limit.config';
import { RedisCounterStore } from './redis-counter-store';

const logger = new Logger('RateLimit');

/** The counter store, in this process or in Redis (REDIS_URL), shared by the IP limits and the back-off. */
@Module({
  imports: [ConfigModule.forFeature(rateLimitConfig)],
  providers: [
    {
      provide: COUNTER_STORE,
      inject: [rateLimitConfig.KEY],
      useFactory: async ({ redis }: RateLimitConfig): Promise<CounterStore> => {
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
export class CounterStoreModule implements OnApplicationShutdown {
  constructor(@Inject(COUNTER_STORE) private readonly store: CounterStore & { close?: () => unknown }) {}

  async onApplicationShutdown(): Promise<void> {
    await this.store.close?.();
  }
}

/**
 * What every route that checks a password uses (auth's login and register, users' password
 * change, and the MFA and email routes): `ClientRateLimitGuard` (per client IP), the
 * per-account `CredentialBackoffService`, and `@ThrottlePasswordCheck()` that puts both on a
 * route. Imported by each feature module that has such routes; it imports no feature.
 */
@Module({
  imports: [
    ConfigModule.forFeature(rateLimitConfig),
    CounterStoreModule,
    // Global by design (@nestjs/throttler): ClientRateLimitGuard finds its options and storage anywhere.
    ThrottlerModule.forRootAsync({
      imports: [ConfigModule.forFeature(rateLimitConfig), CounterStoreModule],
      inject: [rateLimitConfig.KEY, COUNTER_STORE],
      useFactory: ({ perIp }: RateLimitConfig, store: CounterStore) => ({
        throttlers: [{ ttl: perIp.windowSeconds * 1000, limit: perIp.limit }],
        storage: new CounterThrottlerStorage(store),
      }),
    }),
  ],
  providers: [CredentialBackoffService, ClientRateLimitGuard, CurrentPasswordBackoffInterceptor],
  exports: [CounterStoreModule, CredentialBackoffService, ClientRateLimitGuard, CurrentPasswordBackoffInterceptor],
})
export class RateLimitModule {}
