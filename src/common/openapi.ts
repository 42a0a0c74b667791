import { applyDecorators, Type } from '@nestjs/common';
import { ApiProperty, ApiResponse } from '@nestjs/swagger';
import { ErrorCode } from './api-error';

/** The contract's error body, as every route answers a failure. */
export class ErrorBody {
  @ApiProperty({ example: 401 })
  statusCode: number;

  @ApiProperty({
    oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
    description: 'A readable message; for validation_failed, an array of them',
  })
  message: string | string[];

  @ApiProperty({ example: 'Unauthorized' })
  error: string;

  @ApiProperty({ description: 'Stable machine code that clients branch on', example: 'token_expired' })
  code: ErrorCode;
}

/** What each failure status means on any route; a route may say more. */
const FAILURES: Record<number, string> = {
  400: 'validation_failed: the body, a path id or a query parameter is invalid',
  401: 'token_missing, token_invalid or token_expired (with WWW-Authenticate: Bearer)',
  403: 'forbidden: the caller lacks the role',
  404: 'not_found',
  409: 'email_taken',
  413: 'payload_too_large: the JSON body is over 16 KiB',
  415: 'unsupported_media_type: the body is not application/json',
  429: 'rate_limited, with Retry-After in seconds',
  503: 'database_unavailable, with Retry-After in seconds',
};

/** A failure response with the contract's error body, as OpenAPI writes it. */
export function errorResponse(status: number, description = FAILURES[status]) {
  return { description, content: { 'application/json': { schema: { $ref: `#/components/schemas/${ErrorBody.name}` } } } };
}

/** Documents failure statuses with the error body: `@ApiErrors(400, 409)` or `@ApiErrors({ 404: 'why' })`. */
export function ApiErrors(...failures: Array<number | Record<number, string>>): MethodDecorator & ClassDecorator {
  const described = failures.flatMap((failure) =>
    typeof failure === 'number'
      ? [[failure, FAILURES[failure]] as const]
      : Object.entries(failure).map(([status, description]) => [Number(status), description] as const),
  );
  return applyDecorators(
    ...described.map(([status, description]) => ApiResponse({ status, description, type: ErrorBody })),
  );
}

/** `{ items, total, page, limit }` of `item`, as a named schema (`UserResponsePage`). */
export function PageOf<T>(item: Type<T>): Type<{ items: T[]; total: number; page: number; limit: number }> {
  class Page {
    @ApiProperty({ type: [item] })
    items: T[];

    @ApiProperty({ example: 42 })
    total: number;

    @ApiProperty({ example: 1 })
    page: number;

    @ApiProperty({ example: 20, maximum: 100 })
    limit: number;
  }
  Object.defineProperty(Page, 'name', { value: `${item.name}Page` });
  return Page;
}
