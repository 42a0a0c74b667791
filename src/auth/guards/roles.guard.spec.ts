import 'reflect-metadata';
import { Reflector } from '@nestjs/core';
import { describe, expect, it } from 'vitest';
import { guardContext, refusalOf } from '../../../test/support/guard-context';
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

const guard = new RolesGuard(new Reflector());
const session = { sessionId: 's', amr: ['pwd'], aal: 1 };
const admin: AuthUser = { id: 'a', roles: [Role.User, Role.Admin], ...session };
const member: AuthUser = { id: 'u', roles: [Role.User], ...session };

describe('RolesGuard', () => {
  it('lets any request through a route without @Roles, even without a user', () => {
    expect(guard.canActivate(guardContext(OpenController, OpenController.prototype.open))).toBe(true);
    expect(guard.canActivate(guardContext(OpenController, OpenController.prototype.open, member))).toBe(true);
  });

  it('lets any request through an empty @Roles()', () => {
    expect(guard.canActivate(guardContext(OpenController, OpenController.prototype.emptyRoles))).toBe(true);
  });

  it('lets a user with the role through', () => {
    expect(guard.canActivate(guardContext(OpenController, OpenController.prototype.adminOnly, admin))).toBe(true);
  });

  it('needs only one of the listed roles', () => {
    expect(guard.canActivate(guardContext(OpenController, OpenController.prototype.eitherRole, member))).toBe(true);
  });

  it('throws 403 forbidden for a user without the role', () => {
    expect(refusalOf(() => guard.canActivate(guardContext(OpenController, OpenController.prototype.adminOnly, member)))).toEqual({
      status: 403,
      code: 'forbidden',
    });
  });

  it('throws 403 forbidden when there is no user on the request', () => {
    expect(refusalOf(() => guard.canActivate(guardContext(OpenController, OpenController.prototype.adminOnly)))).toEqual({
      status: 403,
      code: 'forbidden',
    });
  });

  it('applies @Roles on the controller class to its handlers', () => {
    expect(guard.canActivate(guardContext(AdminController, AdminController.prototype.inherited, admin))).toBe(true);
    expect(refusalOf(() => guard.canActivate(guardContext(AdminController, AdminController.prototype.inherited, member)))).toEqual({
      status: 403,
      code: 'forbidden',
    });
  });

  it('lets @Roles on the handler override (not add to) the class', () => {
    expect(guard.canActivate(guardContext(AdminController, AdminController.prototype.overridden, member))).toBe(true);
    expect(refusalOf(() => guard.canActivate(guardContext(MembersController, MembersController.prototype.adminOnly, member)))).toEqual({
      status: 403,
      code: 'forbidden',
    });
    expect(guard.canActivate(guardContext(MembersController, MembersController.prototype.adminOnly, admin))).toBe(true);
  });

  it('works with metadata defined directly with Reflect.defineMetadata under the decorator key', () => {
    const handler = () => undefined;
    Reflect.defineMetadata('roles', [Role.Admin], handler);
    expect(guard.canActivate(guardContext(OpenController, handler, admin))).toBe(true);
    expect(refusalOf(() => guard.canActivate(guardContext(OpenController, handler, member))).code).toBe('forbidden');
  });
});
