import type { CookieSerializeOptions } from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { TokenResponse } from './dto/token.response';

/** With AUTH_COOKIES=true the refresh token travels in this cookie, sent only to /auth, and never in a body. */
export const REFRESH_COOKIE = 'refresh_token';

const attributes: CookieSerializeOptions = { httpOnly: true, secure: true, sameSite: 'strict', path: '/auth' };

/** Sets the cookie and takes the token out of the response: a script on the page never sees it. */
export function withRefreshCookie(reply: FastifyReply, response: TokenResponse, maxAgeSeconds: number): TokenResponse {
  const { refreshToken, ...rest } = response;
  if (refreshToken !== undefined) reply.setCookie(REFRESH_COOKIE, refreshToken, { ...attributes, maxAge: maxAgeSeconds });
  return rest;
}

export function clearRefreshCookie(reply: FastifyReply): void {
  reply.clearCookie(REFRESH_COOKIE, attributes);
}

export function readRefreshCookie(request: FastifyRequest): string | undefined {
  const value = request.cookies?.[REFRESH_COOKIE];
  return value ? value : undefined;
}

/**
 * True when a browser says the request comes from another site: `Sec-Fetch-Site:
 * cross-site`, or an `Origin` that is neither this service's own nor one of
 * `trustedOrigins` (CORS_ORIGINS). A cookie must not refresh or end a session for such a
 * request (CSRF; SameSite=Strict is the first defence, this the second). Without either
 * header (curl, a server) the request is not a browser's cross-site one.
 */
export function isCrossSite(request: FastifyRequest, trustedOrigins: readonly string[]): boolean {
  if (request.headers['sec-fetch-site'] === 'cross-site') return true;
  const origin = request.headers.origin;
  if (origin === undefined) return false;
  return origin !== `${request.protocol}://${request.host}` && !trustedOrigins.includes(origin);
}
