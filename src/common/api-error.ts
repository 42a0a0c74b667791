import { HttpException, HttpStatus } from '@nestjs/common';

/** The machine codes of ../shared/API.md. Add codes as routes need them; never change one. */
export type ErrorCode =
  | 'validation_failed'
  | 'payload_too_large'
  | 'invalid_credentials'
  | 'email_taken'
  | 'token_missing'
  | 'token_invalid'
  | 'token_expired'
  | 'token_revoked'
  | 'email_not_verified'
  | 'email_already_verified'
  | 'verification_token_invalid'
  | 'reset_token_invalid'
  | 'account_disabled'
  | 'last_admin'
  | 'mfa_required'
  | 'step_up_required'
  | 'refresh_token_invalid'
  | 'refresh_token_reused'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'rate_limited'
  | 'database_unavailable'
  | 'unsupported_media_type'
  | 'headers_too_large'
  | 'request_timeout'
  | 'mfa_token_invalid'
  | 'mfa_code_invalid'
  | 'mfa_already_enabled'
  | 'mfa_setup_required'
  | 'mfa_not_enabled'
  | 'passkey_invalid'
  | 'internal_error';

/** The code an error gets when the code that threw it named none. */
export const DEFAULT_CODES: Partial<Record<number, ErrorCode>> = {
  400: 'validation_failed',
  401: 'token_invalid',
  403: 'forbidden',
  404: 'not_found',
  405: 'not_found',
  408: 'request_timeout',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  431: 'headers_too_large',
  429: 'rate_limited',
  503: 'database_unavailable',
};

/** An HttpException whose body carries a contract code: `throw new ApiError(401, 'invalid_credentials', '…')`. */
export class ApiError extends HttpException {
  constructor(status: HttpStatus, code: ErrorCode, message: string | string[], extra: Record<string, unknown> = {}) {
    super({ ...extra, message, code }, status);
  }
}

/** Whether `error` answers with this machine code. */
export function hasErrorCode(error: unknown, code: ErrorCode): boolean {
  if (!(error instanceof HttpException)) return false;
  const body = error.getResponse();
  return typeof body === 'object' && body !== null && (body as { code?: unknown }).code === code;
}
