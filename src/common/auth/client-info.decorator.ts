import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { ClientInfo } from './client-info';

/**
 * The caller's user agent and IP (the socket's, or the proxy's view with TRUST_PROXY), for
 * the session list, and the request id, for the security events logged about the request.
 */
export const Client = createParamDecorator(
  (_: unknown, context: ExecutionContext): ClientInfo => clientInfoOf(context.switchToHttp().getRequest<FastifyRequest>()),
);

/** What @Client() gives, for code that has the request but no handler parameter (a Passport strategy). */
export function clientInfoOf(request: FastifyRequest): ClientInfo {
  const userAgent = request.headers['user-agent'];
  return { userAgent: typeof userAgent === 'string' ? userAgent : null, ip: request.ip ?? null, requestId: request.id };
}
