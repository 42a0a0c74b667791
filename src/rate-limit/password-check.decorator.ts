import { applyDecorators, UseGuards, UseInterceptors } from '@nestjs/common';
import { ApiErrors } from '../common/openapi';
import { CurrentPasswordBackoffInterceptor } from './current-password-backoff.interceptor';
import { ClientRateLimitGuard } from './guards/client-rate-limit.guard';

/**
 * For a route that checks the caller's current password (change password or email, delete
 * the account, turn MFA off…): the per-IP limit, and the per-account back-off on wrong
 * passwords, as login has. The module of the controller imports RateLimitModule.
 */
export const ThrottlePasswordCheck = () =>
  applyDecorators(
    UseGuards(ClientRateLimitGuard),
    UseInterceptors(CurrentPasswordBackoffInterceptor),
    ApiErrors({ 429: 'rate_limited, with Retry-After in seconds: too many requests from this IP, or too many wrong passwords for this account' }),
  );
