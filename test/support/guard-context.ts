import type { ExecutionContext } from '@nestjs/common';
import { expect } from 'vitest';
import { ApiError } from '../../src/common/api-error';
import type { AuthUser } from '../../src/common/auth';

/** What a guard sees of a request to `handler` of `controller`, made by `user` (none: a public route's). */
export function guardContext(controller: Function, handler: Function, user?: AuthUser | null): ExecutionContext {
  return {
    getHandler: () => handler,
    getClass: () => controller,
    switchToHttp: () => ({ getRequest: () => ({ user }), getResponse: () => ({}), getNext: () => undefined }),
  } as unknown as ExecutionContext;
}

/** The status and code of the ApiError that `run` throws (fails the test when it throws nothing or something else). */
export function refusalOf(run: () => unknown): { status: number; code: unknown } {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    const apiError = error as ApiError;
    return { status: apiError.getStatus(), code: (apiError.getResponse() as { code?: unknown }).code };
  }
  throw new Error('expected the guard to throw');
}
