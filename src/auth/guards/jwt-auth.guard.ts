import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { IS_PUBLIC_KEY } from '../../common/auth';
import type { AuthUser } from '../../common/auth';
import { AccessTokenService } from '../../tokens/access-token.service';
import { bearerToken } from '../bearer-token';
import { TokenUser, userOf } from '../strategies/jwt.strategy';

/**
 * Every route needs a valid access token unless it is @Public(). Registered globally in
 * AuthModule, and exported with what it needs, so that a module importing AuthModule can
 * also write `@UseGuards(JwtAuthGuard, RolesGuard)`.
 *
 * It makes the `jwt` strategy's decision (the same 401 codes; test/jwt-paths.e2e-spec.ts
 * compares them token for token) without Passport's authenticate(), whose closures,
 * promise and request properties cost more than the check itself (docs/BENCHMARKS.md):
 * synchronously, through AccessTokenService.verify, which remembers the tokens that verified.
 */
@Injectable()
export class JwtAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: AccessTokenService,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC_KEY, [context.getHandler(), context.getClass()]);
    if (isPublic) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest & { user?: AuthUser | null }>();
    // Applied twice (globally and with @UseGuards): this request's token is verified already.
    if (request.user instanceof TokenUser) return true;
    request.user = userOf(this.tokens.verify(bearerToken(request)));
    return true;
  }
}
