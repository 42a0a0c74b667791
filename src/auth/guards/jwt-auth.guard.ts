import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { ApiError } from '../../common/api-error';
import type { AuthUser } from '../auth-user';
import { IS_PUBLIC_KEY } from '../decorators/public.decorator';

/** A longer header is refused before any parsing. */
export const MAX_BEARER_TOKEN_LENGTH = 8192;
/** The scheme is case-insensitive (RFC 7235); the token is a compact JWS. */
const BEARER = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)$/i;

/** Registered globally in AuthModule: every route needs a valid access token unless it is @Public(). */
@Injectable()
export class JwtAuthGuard extends AuthGuard('jwt') {
  constructor(private readonly reflector: Reflector) {
    super();
  }

  override canActivate(context: ExecutionContext) {
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC_KEY, [context.getHandler(), context.getClass()]);
    if (isPublic) return true;
    return super.canActivate(context);
  }

  override handleRequest<TUser = AuthUser>(error: unknown, user: TUser | false): TUser {
    if (error) throw error;
    if (!user) throw new ApiError(401, 'token_invalid', 'Access token is invalid');
    return user;
  }
}

/** The compact JWS from `Authorization: Bearer …`, or a 401 that says what is wrong with the header. */
export function bearerToken(request: { headers: Record<string, string | string[] | undefined> }): string {
  const header = request.headers.authorization;
  if (header === undefined || header === '') throw new ApiError(401, 'token_missing', 'Bearer token is missing');
  if (typeof header !== 'string' || header.length > MAX_BEARER_TOKEN_LENGTH + 7) {
    throw new ApiError(401, 'token_invalid', 'Access token is invalid');
  }
  const match = BEARER.exec(header);
  if (!match) throw new ApiError(401, 'token_invalid', 'Authorization header must be "Bearer <access token>"');
  return match[1];
}
