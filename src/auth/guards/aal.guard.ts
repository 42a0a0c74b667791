import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiError } from '../../common/api-error';
import { AAL_KEY, type AuthUser } from '../../common/auth';

/**
 * Step-up: on a route marked @RequireAal(2), a token whose `aal` is lower gets 403
 * `step_up_required`. Registered globally after JwtAuthGuard and RolesGuard (the token's
 * claims, from memory: no database read); exported for `@UseGuards(JwtAuthGuard, AalGuard)`.
 */
@Injectable()
export class AalGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const required = this.reflector.getAllAndOverride<number | undefined>(AAL_KEY, [context.getHandler(), context.getClass()]);
    if (required === undefined) return true;
    const user = context.switchToHttp().getRequest<{ user?: AuthUser | null }>().user;
    if (user && user.aal >= required) return true;
    throw new ApiError(403, 'step_up_required', 'This action needs a session that passed a second factor: log in with MFA or a passkey');
  }
}
