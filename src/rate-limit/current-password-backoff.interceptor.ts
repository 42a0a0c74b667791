import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { from, lastValueFrom, Observable } from 'rxjs';
import { ApiError, hasErrorCode } from '../common/api-error';
import type { AuthUser } from '../common/auth';
import { MetricsService } from '../metrics/metrics.service';
import { CredentialBackoffService, currentPasswordSubject } from './credential-backoff.service';

/**
 * The per-account back-off on a route that re-checks the caller's current password: a
 * caller in back-off gets 429 with Retry-After before the password is looked at; each call
 * counts as an attempt before the handler runs, and stays counted when it answers
 * `invalid_credentials`; a success resets the count; any other answer takes it back.
 */
@Injectable()
export class CurrentPasswordBackoffInterceptor implements NestInterceptor {
  constructor(
    private readonly backoff: CredentialBackoffService,
    private readonly metrics: MetricsService,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<FastifyRequest & { user?: AuthUser | null }>();
    // Behind the global JWT guard there is always a caller; without one there is nobody to count.
    if (!request.user) return next.handle();
    return from(
      this.backoff.attempt(
        currentPasswordSubject(request.user.id),
        () => lastValueFrom(next.handle()),
        (error) => hasErrorCode(error, 'invalid_credentials'),
        (retryAfterSeconds) => {
          this.metrics.rateLimited('account', request.routeOptions.url ?? 'unmatched');
          return new ApiError(429, 'rate_limited', 'Too many wrong passwords for this account; retry later', { retryAfterSeconds });
        },
      ),
    );
  }
}
