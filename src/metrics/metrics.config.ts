import { registerAs } from '@nestjs/config';
import { ConfigError, env } from '../config/env';

export const metricsConfig = registerAs('metrics', () => {
  const token = env.optional('METRICS_TOKEN');
  if (token !== undefined && token.length < 16) throw new ConfigError('METRICS_TOKEN', 'must be at least 16 characters');
  return {
    /** When set, /metrics asks for `Authorization: Bearer <METRICS_TOKEN>`. */
    token,
    /**
     * Unset outside production, /metrics is open (scrape it on a private network). In
     * production an open /metrics is not served at all: it would tell anyone the traffic,
     * the failed logins and the process's state.
     */
    served: token !== undefined || !env.isProduction(),
  };
});

export type MetricsConfig = ReturnType<typeof metricsConfig>;
