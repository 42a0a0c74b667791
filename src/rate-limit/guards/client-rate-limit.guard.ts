import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerGuard,
  type ThrottlerModuleOptions,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import type { FastifyRequest } from 'fastify';
import { ApiError } from '../../common/api-error';
import { MetricsService } from '../../metrics/metrics.service';

/**
 * The per-client-IP limit (AUTH_RATE_LIMIT per AUTH_RATE_WINDOW) of every route that
 * checks a password, each route with its own budget, counting what it turns away. The
 * client IP is Fastify's `request.ip`: the socket's, or the proxy's view with TRUST_PROXY.
 */
@Injectable()
export class ClientRateLimitGuard extends ThrottlerGuard {
  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    private readonly metrics: MetricsService,
  ) {
    super(options, storage, reflector);
  }

  /** Retry-After is already on the reply; the message names no library ("ThrottlerException: …"). */
  protected override async throwThrottlingException(context: ExecutionContext): Promise<void> {
    this.metrics.rateLimited('ip', context.switchToHttp().getRequest<FastifyRequest>().routeOptions.url ?? 'unmatched');
    throw new ApiError(429, 'rate_limited', 'Too Many Requests');
  }
}
