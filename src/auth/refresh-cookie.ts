import type { CookieSerializeOptions } from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** With AUTH_COOKIES=true the refresh token also travels in this cookie, sent only to /auth. */
export const REFRESH_COOKIE = 'refresh_token';

const attributes: CookieSerializeOptions = { httpOnly: true, secure: true, sameSite: 'strict', path: '/auth' };

export function setRefreshCookie(reply: FastifyReply, token: string, maxAgeSeconds: number): void {
  reply.setCookie(REFRESH_COOKIE, token, { ...attributes, maxAge: maxAgeSeconds });
}

export function clearRefreshCookie(reply: FastifyReply): void {
  reply.clearCookie(REFRESH_COOKIE, attributes);
}

export function readRefreshCookie(request: FastifyRequest): string | undefined {
  const value = request.cookies?.[REFRESH_COOKIE];
  return value ? value : undefined;
}
