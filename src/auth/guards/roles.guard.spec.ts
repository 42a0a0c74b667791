import 'reflect-metadata';
import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../common/api-error';
import { type AuthUser, Role, Roles } from '../../common/auth';
import { RolesGuard } from './roles.guard';

class OpenController {
  open() {}

  @Roles(Role.Admin)
  adminOnly() {}

  @Roles()
  emptyRoles() {}

  @Roles(Role.User, Role.Admin)
  eitherRole() {}
}

@Roles(Role.Admin)
class AdminController {
  inherited() {}

  @Roles(Role.User)
  overridden() {}
}

@Roles(Role.User)
class MembersController {
  @Roles(Role.Admin)
  adminOnly() {}
}

function context(controller: Function, handler: Function, user?: AuthUser): ExecutionContext {
  return {
    getHandler: () => handler,
    getClass: () => controller,
    switchToHttp: () => ({ getRequest: () => ({ user }), getResponse: () => ({}), getNext: () => undefined }),
  } as unknown as ExecutionContext;
}

const guard = new RolesGuard(new Reflector());
const session = { sessionId: 's', amr: ['pwd'], aal: 1 };
const admin: AuthUser = { id: 'a', roles: [Role.User, Role.Admin], ...session };
const member: AuthUser = { id: 'u', roles: [Role.User], ...session };

function forbidden(run: () => unknown): { status: number; code: unknown } {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    const apiError = error as ApiError;
    return { status: apiError.getStatus(), code: (apiError.getResponse() as { code?: unknown }).code };
  }
  throw new Error('expected the guard to throw');
}

describe('RolesGuard', () => {
  it('lets any request through a route without @Roles, even without a user', () => {
    expect(guard.canActivate(context(OpenController, OpenController.prototype.open))).toBe(true);
    expect(guard.canActivate(context(OpenController, OpenController.prototype.open, member))).toBe(true);
  });

  it('lets any request through an empty @Roles()', () => {
    expect(guard.canActivate(context(OpenController, OpenController.prototype.emptyRoles))).toBe(true);
  });

  it('lets a user with the role through', () => {
    expect(guard.canActivate(context(OpenController, OpenController.prototype.adminOnly, admin))).toBe(true);
  });

  it('needs only one of the listed roles', () => {
    expect(guard.canActivate(context(OpenController, OpenController.prototype.eitherRole, member))).toBe(true);
  });

  it('throws 403 forbidden for a user without the role', () => {
    expect(forbidden(() => guard.canActivate(context(OpenController, OpenController.prototype.adminOnly, member)))).toEqual({
      status: 403,
      code: 'forbidden',
    });
  });

  it('throws 403 forbidden when there is no user on the request', () => {
    expect(forbidden(() => guard.canActivate(context(OpenController, OpenController.prototype.adminOnly)))).toEqual({
      status: 403,
      code: 'forbidden',
    });
  });

  it('applies @Roles on the controller class to its handlers', () => {
    expect(guard.canActivate(context(AdminController, AdminController.prototype.inherited, admin))).toBe(true);
    expect(forbidden(() => guard.canActivate(context(AdminController, AdminController.prototype.inherited, member)))).toEqual({
      status: 403,
      code: 'forbidden',
    });
  });

  it('lets @Roles on the handler override (not add to) the class', () => {
    expect(guard.canActivate(context(AdminController, AdminController.prototype.overridden, member))).toBe(true);
    expect(forbidden(() => guard.canActivate(context(MembersController, MembersController.prototype.adminOnly, member)))).toEqual({
      status: 403,
      code: 'forbidden',
    });
    expect(guard.canActivate(context(MembersController, MembersController.prototype.adminOnly, admin))).toBe(true);
  });

  it('works with metadata defined directly with Reflect.defineMetadata under the decorator key', () => {
    const handler = () => undefined;
    Reflect.defineMetadata('roles', [Role.Admin], handler);
    expect(guard.canActivate(context(OpenController, handler, admin))).toBe(true);
    expect(forbidden(() => guard.canActivate(context(OpenController, handler, member))).code).toBe('forbidden');
  });
});
