import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiError } from '../../common/api-error';
import { type AuthUser, type Role, ROLES_KEY } from '../../common/auth';

/**
 * Registered globally after JwtAuthGuard; only acts on routes marked @Roles(). Exported by
 * AuthModule for `@UseGuards(JwtAuthGuard, RolesGuard)`; it keeps no state, so running it
 * twice answers as once.
 */
@Injectable()
export class RolesGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const required = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, [context.getHandler(), context.getClass()]);
    if (!required || required.length === 0) return true;
    const user = context.switchToHttp().getRequest<{ user?: AuthUser }>().user;
    if (user && required.some((role) => user.roles.includes(role))) return true;
    throw new ApiError(403, 'forbidden', 'You do not have the role this route needs');
  }
}
