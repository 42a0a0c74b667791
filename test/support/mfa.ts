import { randomBytes } from 'node:crypto';
import { expect, vi } from 'vitest';
import { ApiError } from '../../src/common/api-error';
import { MfaClock } from '../../src/mfa/mfa-clock';
import { UsersService } from '../../src/users/users.service';
import type { TestApp } from './test-app';

/** The service's MFA clock, under the test's hand: `clock.set(ms)`, `clock.advance(ms)`. */
export function controlClock(app: TestApp, start = Date.now()) {
  let now = start;
  vi.spyOn(app.app.get(MfaClock), 'now').mockImplementation(() => new Date(now));
  return {
    get now() {
      return now;
    },
    set(ms: number) {
      now = ms;
    },
    advance(ms: number) {
      now += ms;
    },
  };
}

/** A new user through the real UsersService. */
export async function createUser(app: TestApp, prefix = 'mfa'): Promise<{ id: string; email: string }> {
  const email = `${prefix}-${randomBytes(5).toString('hex')}@example.com`;
  const user = await app.app.get(UsersService).create({ email, password: 'correct horse battery staple' });
  return { id: user.id, email: user.email };
}

/** Expects `promise` to fail with an ApiError of this status and code. */
export async function expectApiError(promise: Promise<unknown>, status: number, code: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error, `expected ${status} ${code}`).toBeInstanceOf(ApiError);
  const apiError = error as ApiError;
  expect({ status: apiError.getStatus(), code: (apiError.getResponse() as { code: string }).code }).toEqual({ status, code });
}
