import { registerAs } from '@nestjs/config';
import { isIP } from 'node:net';
import { ConfigError, env } from './env';

/** Settings of the HTTP shell itself; each feature module owns its own slice. */
export const appConfig = registerAs('app', () => ({
  port: env.int('PORT', 3000, { min: 0, max: 65535 }),
  production: env.isProduction(),
  dataDir: env.dataDir(),
  corsOrigins: parseCorsOrigins(),
  trustProxy: parseTrustProxy(env.string('TRUST_PROXY', 'false'), env.isProduction()),
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

/**
 * TRUST_PROXY: which peers may tell the client's address in X-Forwarded-For. `false`: none
 * (the socket's address counts); a hop count; or the proxies' addresses and CIDR ranges
 * (`loopback`, `linklocal` and `uniquelocal` name the usual ones). `true` believes any
 * sender, so a client picks the address its rate limit is counted under: refused in production.
 */
export type TrustProxy = false | true | { hops: number } | { proxies: string[] };

const PROXY_RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function parseTrustProxy(value: string, production: boolean): TrustProxy {
  if (value === 'false' || value === '0') return false;
  if (value === 'true') {
    if (production) {
      throw new ConfigError('TRUST_PROXY', 'must not be true in production (any client could choose its IP): give the hop count or the proxies\' addresses');
    }
    return true;
  }
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    if (hops > 100) throw new ConfigError('TRUST_PROXY', `must be a hop count from 0 to 100, got ${value}`);
    return { hops };
  }
  const proxies = value.split(',').map((item) => item.trim()).filter(Boolean);
  if (proxies.length === 0 || !proxies.every(isProxyAddress)) {
    throw new ConfigError('TRUST_PROXY', `must be false, a hop count, or proxy addresses or CIDR ranges, got "${value}"`);
  }
  return { proxies };
}

function isProxyAddress(item: string): boolean {
  if (PROXY_RANGE_NAMES.has(item)) return true;
  const [address, prefix, ...rest] = item.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/**
 * Fastify's `trustProxy` option. Fastify 5 takes a bare number as "trust no hop" (it cannot
 * check who the nearest peer is), which would count every client behind the balancer as
 * one: a hop count is given as a function instead, trusting the `hops` nearest peers.
 */
export function fastifyTrustProxy(trust: TrustProxy): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof trust === 'boolean') return trust;
  if ('proxies' in trust) return trust.proxies;
  const { hops } = trust;
  return (_address, hop) => hop < hops;
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
