import 'reflect-metadata';
import { Reflector } from '@nestjs/core';
import { describe, expect, it } from 'vitest';
import { guardContext, refusalOf } from '../../../test/support/guard-context';
import { type AuthUser, RequireAal, Role } from '../../common/auth';
import { AalGuard } from './aal.guard';

class ReportsController {
  open() {}

  @RequireAal(2)
  sensitive() {}
}

@RequireAal(2)
class BillingController {
  inherited() {}
}

const guard = new AalGuard(new Reflector());
const password: AuthUser = { id: 'u', roles: [Role.User], sessionId: 's', amr: ['pwd'], aal: 1 };
const stepped: AuthUser = { ...password, amr: ['pwd', 'otp'], aal: 2 };

describe('AalGuard (@RequireAal)', () => {
  it('lets any request through a route without @RequireAal, even without a user', () => {
    expect(guard.canActivate(guardContext(ReportsController, ReportsController.prototype.open))).toBe(true);
    expect(guard.canActivate(guardContext(ReportsController, ReportsController.prototype.open, password))).toBe(true);
  });

  it('lets an aal-2 token through @RequireAal(2), and answers 403 step_up_required to aal 1 and to no user', () => {
    expect(guard.canActivate(guardContext(ReportsController, ReportsController.prototype.sensitive, stepped))).toBe(true);
    const stepUp = { status: 403, code: 'step_up_required' };
    expect(refusalOf(() => guard.canActivate(guardContext(ReportsController, ReportsController.prototype.sensitive, password)))).toEqual(stepUp);
    expect(refusalOf(() => guard.canActivate(guardContext(ReportsController, ReportsController.prototype.sensitive, null)))).toEqual(stepUp);
  });

  it('applies @RequireAal on the controller class to its handlers', () => {
    expect(guard.canActivate(guardContext(BillingController, BillingController.prototype.inherited, stepped))).toBe(true);
    expect(refusalOf(() => guard.canActivate(guardContext(BillingController, BillingController.prototype.inherited, password))).code).toBe('step_up_required');
  });
});
