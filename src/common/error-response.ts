import { HttpException, HttpStatus, Logger } from '@nestjs/common';
import { STATUS_CODES } from 'node:http';
import { isDatabaseFailure, isInvalidInput, isUniqueViolation } from '../database/database-errors';
import { DEFAULT_CODES, ErrorCode } from './api-error';

export interface ErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: { statusCode: number; message: string | string[]; error: string; code: ErrorCode } & Record<string, unknown>;
}

export const DATABASE_RETRY_AFTER_SECONDS = 5;

const logger = new Logger('Errors');

/** Errors raised before a route runs (URL, body parsing), by their codes: Fastify's and ours (json-body.ts). */
const FASTIFY_ERRORS: Record<string, { status: number; code: ErrorCode; message: string | string[] }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'payload_too_large', message: 'Request body is larger than 16 KiB' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'unsupported_media_type', message: 'Content-Type must be application/json' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'validation_failed', message: ['Content-Length does not match the body'] },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'validation_failed', message: ['Request body is empty'] },
  // The parser's own message quotes the body, which may hold a password: never pass it on.
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'validation_failed', message: ['Request body is not valid JSON'] },
  FST_ERR_CTP_INVALID_CONTENT_TYPE: { status: 415, code: 'unsupported_media_type', message: 'Content-Type must be application/json' },
  BODY_TOO_DEEP: { status: 400, code: 'validation_failed', message: ['Request body is nested too deeply'] },
  BODY_MALFORMED_UNICODE: { status: 400, code: 'validation_failed', message: ['Request body holds malformed Unicode'] },
  // Raised before routing; Fastify's messages quote the URL.
  FST_ERR_BAD_URL: { status: 400, code: 'validation_failed', message: ['The URL is malformed'] },
  FST_ERR_MAX_PARAM_LENGTH: { status: 400, code: 'validation_failed', message: ['A path parameter is too long'] },
  FST_ERR_ASYNC_CONSTRAINT: { status: 400, code: 'validation_failed', message: ['The request could not be routed'] },
};

/**
 * Turns anything thrown while serving a request into the contract's error body:
 * `{ statusCode, message, error, code }`. Nothing a client sends becomes a 500; an
 * unreachable or failing database becomes 503 with Retry-After.
 */
export function toErrorResponse(exception: unknown, requestId?: string): ErrorResponse {
  // Nest wraps Fastify's own errors in an HttpException whose cause keeps Fastify's code.
  const cause = exception instanceof HttpException ? exception.cause : exception;
  const fastifyCode = (cause as { code?: unknown } | null)?.code;
  if (typeof fastifyCode === 'string' && Object.hasOwn(FASTIFY_ERRORS, fastifyCode)) {
    const known = FASTIFY_ERRORS[fastifyCode];
    return build(known.status, known.code, known.message);
  }
  if (exception instanceof HttpException) return fromHttpException(exception);
  if (isUniqueViolation(exception)) return build(409, 'conflict', 'The resource already exists');
  if (isInvalidInput(exception)) return build(400, 'validation_failed', ['A value has an invalid format']);
  if (isDatabaseFailure(exception)) {
    logger.warn({ reqId: requestId, msg: `Database unavailable: ${describe(exception)}` });
    return build(503, 'database_unavailable', 'The database is unavailable; retry later', {
      'Retry-After': String(DATABASE_RETRY_AFTER_SECONDS),
    });
  }
  const clientStatus = (exception as { statusCode?: unknown } | null)?.statusCode;
  if (typeof clientStatus === 'number' && clientStatus >= 400 && clientStatus < 500) {
    return build(clientStatus, DEFAULT_CODES[clientStatus] ?? 'validation_failed', STATUS_CODES[clientStatus] ?? 'Bad request');
  }
  logger.error({ reqId: requestId, msg: `Unexpected error: ${describe(exception)}`, stack: exception instanceof Error ? exception.stack : undefined });
  return build(500, 'internal_error', 'Internal server error');
}

/**
 * What Node's HTTP parser refuses before Fastify sees a request (the `clientError` event):
 * headers over `maxHeaderSize` (16 KiB), a request that took too long, a malformed request.
 */
const CONNECTION_ERRORS: Record<string, { status: number; code: ErrorCode; message: string | string[] }> = {
  HPE_HEADER_OVERFLOW: { status: 431, code: 'headers_too_large', message: 'Request headers are larger than 16 KiB' },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: { status: 413, code: 'payload_too_large', message: 'Request chunk extensions are too large' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, code: 'request_timeout', message: 'The request took too long to arrive' },
};

/** The contract's error body for an error of the connection, raised before any routing. */
export function connectionErrorResponse(errorCode: unknown): ErrorResponse {
  const known = typeof errorCode === 'string' && Object.hasOwn(CONNECTION_ERRORS, errorCode) ? CONNECTION_ERRORS[errorCode] : undefined;
  return known ? build(known.status, known.code, known.message) : build(400, 'validation_failed', ['The request is malformed']);
}

function fromHttpException(exception: HttpException): ErrorResponse {
  const status = exception.getStatus();
  const response = exception.getResponse();
  const fields: Record<string, unknown> = typeof response === 'object' && response !== null ? { ...response } : {};
  let message = (fields.message ?? (typeof response === 'string' ? response : exception.message)) as string | string[];
  // Nest's not-found handler says "Cannot GET /path": the error body never echoes the request.
  if (status === 404 && typeof message === 'string' && /^Cannot [A-Z]+ /.test(message)) message = 'Route not found';
  const code = (typeof fields.code === 'string' ? fields.code : DEFAULT_CODES[status] ?? 'internal_error') as ErrorCode;
  delete fields.statusCode;
  delete fields.error;
  const headers: Record<string, string> = {};
  if (status === HttpStatus.SERVICE_UNAVAILABLE) headers['Retry-After'] = String(DATABASE_RETRY_AFTER_SECONDS);
  // An ApiError may carry its own Retry-After (the login back-off); it goes in the header, not the body.
  if (typeof fields.retryAfterSeconds === 'number') headers['Retry-After'] = String(fields.retryAfterSeconds);
  delete fields.retryAfterSeconds;
  return build(status, code, message, headers, fields);
}

function build(
  status: number,
  code: ErrorCode,
  message: string | string[],
  headers: Record<string, string> = {},
  extra: Record<string, unknown> = {},
): ErrorResponse {
  if (status === 401 && code.startsWith('token_')) {
    headers['WWW-Authenticate'] = code === 'token_missing' ? 'Bearer' : 'Bearer error="invalid_token"';
  }
  return {
    status,
    headers,
    // Always the contract's four fields first, in its order; extras (such as health details) after.
    body: { statusCode: status, message, error: STATUS_CODES[status] ?? 'Error', code, ...withoutContractFields(extra) },
  };
}

function withoutContractFields(extra: Record<string, unknown>): Record<string, unknown> {
  const { statusCode: _s, message: _m, error: _e, code: _c, ...rest } = extra;
  return rest;
}

/** Name, code and message only: never the query parameters, which may hold a hash. */
function describe(exception: unknown): string {
  if (!(exception instanceof Error)) return String(exception);
  const code = (exception as { code?: unknown }).code;
  return `${exception.name}${code ? ` (${String(code)})` : ''}: ${exception.message}`;
}
