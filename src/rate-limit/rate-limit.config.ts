import { registerAs } from '@nestjs/config';
import { ConfigError, env } from '../config/env';

/** The limits on every route that checks a password, and where their counters live. */
export const rateLimitConfig = registerAs('rateLimit', () => ({
  /** Requests per window per client IP on each throttled route (register, login, password checks). */
  perIp: {
    limit: env.int('AUTH_RATE_LIMIT', 10, { min: 1, max: 1_000_000 }),
    windowSeconds: env.int('AUTH_RATE_WINDOW', 60, { min: 1, max: 86_400 }),
  },
  /** Per-account back-off after wrong passwords (see CredentialBackoffService). */
  backoff: {
    threshold: env.int('LOGIN_BACKOFF_THRESHOLD', 5, { min: 1, max: 1000 }),
    windowSeconds: env.durationSeconds('LOGIN_BACKOFF_WINDOW', '15m'),
    maxSeconds: env.durationSeconds('LOGIN_BACKOFF_MAX', '60s'),
  },
  /** Counters in Redis, shared by every instance; unset: in this process. */
  redis: parseRedis(),
}));

function parseRedis(): { url: string; prefix: string } | undefined {
  const url = env.optional('REDIS_URL');
  if (url === undefined) return undefined;
  if (!/^rediss?:\/\/[^\s]+$/.test(url)) throw new ConfigError('REDIS_URL', 'must be a redis:// or rediss:// URL');
  return { url, prefix: env.string('REDIS_KEY_PREFIX', 'auth:') };
}

export type RateLimitConfig = ReturnType<typeof rateLimitConfig>;
