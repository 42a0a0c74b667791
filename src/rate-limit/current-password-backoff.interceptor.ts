import { CallHandler, ExecutionContext, HttpException, Injectable, NestInterceptor } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { catchError, from, mergeMap, Observable } from 'rxjs';
import { ApiError } from '../common/api-error';
import type { AuthUser } from '../common/auth';
import { MetricsService } from '../metrics/metrics.service';
import { CredentialBackoffService, currentPasswordSubject } from './credential-backoff.service';

/**
 * The per-account back-off on a route that re-checks the caller's current password: a
 * caller in back-off gets 429 with Retry-After before the password is looked at; an
 * `invalid_credentials` answer counts as a failure; a success resets the count.
 */
@Injectable()
export class CurrentPasswordBackoffInterceptor implements NestInterceptor {
  constructor(
    private readonly backoff: CredentialBackoffService,
    private readonly metrics: MetricsService,
  ) {}

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    const request = context.switchToHttp().getRequest<FastifyRequest & { user?: AuthUser | null }>();
    // Behind the global JWT guard there is always a caller; without one there is nobody to count.
    if (!request.user) return next.handle();
    const subject = currentPasswordSubject(request.user.id);
    const retryAfterSeconds = await this.backoff.retryAfterSeconds(subject);
    if (retryAfterSeconds > 0) {
      this.metrics.rateLimited('account', request.routeOptions.url ?? 'unmatched');
      throw new ApiError(429, 'rate_limited', 'Too many wrong passwords for this account; retry later', { retryAfterSeconds });
    }
    return next.handle().pipe(
      mergeMap((value) => from(this.backoff.recordSuccess(subject).then(() => value))),
      catchError((error: unknown) =>
        from(
          (isWrongPassword(error) ? this.backoff.recordFailure(subject) : Promise.resolve()).then(() => {
            throw error;
          }),
        ),
      ),
    );
  }
}

function isWrongPassword(error: unknown): boolean {
  if (!(error instanceof HttpException)) return false;
  const response = error.getResponse();
  return typeof response === 'object' && response !== null && (response as { code?: unknown }).code === 'invalid_credentials';
}
