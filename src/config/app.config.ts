import { registerAs } from '@nestjs/config';
import { ConfigError, env } from './env';

/** Settings of the HTTP shell itself; each feature module owns its own slice. */
export const appConfig = registerAs('app', () => ({
  port: env.int('PORT', 3000, { min: 0, max: 65535 }),
  production: env.isProduction(),
  dataDir: env.dataDir(),
  corsOrigins: parseCorsOrigins(),
  trustProxy: parseTrustProxy(env.string('TRUST_PROXY', 'false')),
  /** APP_URL without a trailing slash: the web app that links in emails point to (`${appUrl}/verify-email?token=…`). */
  appUrl: parseAppUrl(env.string('APP_URL', 'http://localhost:3000')),
}));

export type AppConfig = ReturnType<typeof appConfig>;

function parseCorsOrigins(): string[] {
  const origins = env.list('CORS_ORIGINS');
  for (const origin of origins) {
    let url: URL | undefined;
    try {
      url = new URL(origin);
    } catch {
      url = undefined;
    }
    if (!url || url.origin !== origin) {
      throw new ConfigError('CORS_ORIGINS', `must list origins such as https://app.example.com, got "${origin}"`);
    }
  }
  return origins;
}

/** Fastify's `trustProxy`: false, true, a hop count, or a list of proxy addresses. */
function parseTrustProxy(value: string): boolean | number | string[] {
  if (value === 'false') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) return Number(value);
  const proxies = value.split(',').map((item) => item.trim()).filter(Boolean);
  if (proxies.length === 0 || !proxies.every((item) => /^[0-9a-fA-F:.\/]+$/.test(item))) {
    throw new ConfigError('TRUST_PROXY', `must be false, true, a hop count or proxy addresses, got "${value}"`);
  }
  return proxies;
}

/** An http(s) origin with an optional path; no credentials, query or fragment (links append their own). */
export function parseAppUrl(value: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password || url.search || url.hash || /[?#]/.test(value)) {
    // Not echoed: a URL may carry credentials.
    throw new ConfigError('APP_URL', 'must be an http(s) origin with an optional path and no query, such as https://app.example.com');
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}
