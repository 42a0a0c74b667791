import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsInt, IsOptional, IsString, IsUUID, Max, Min, ValidateBy } from 'class-validator';
import { QueryInt } from '../../common/transforms';
import { AUDIT_EVENT_TYPES, type AuditEventType } from '../audit-event-types';

export const MAX_AUDIT_PAGE_SIZE = 100;
const MAX_SEQ = (1n << 63n) - 1n;

/** The opaque cursor of the next page: base64url of the last event's seq. */
export function encodeCursor(seq: string): string {
  return Buffer.from(seq, 'ascii').toString('base64url');
}

/** The seq a cursor names, or undefined for anything encodeCursor() would not have made. */
export function decodeCursor(cursor: string): string | undefined {
  if (!/^[A-Za-z0-9_-]{1,28}$/.test(cursor)) return undefined;
  const seq = Buffer.from(cursor, 'base64url').toString('latin1');
  if (!/^[1-9]\d{0,18}$/.test(seq) || BigInt(seq) > MAX_SEQ || encodeCursor(seq) !== cursor) return undefined;
  return seq;
}

const IsCursor = () =>
  ValidateBy({
    name: 'isAuditCursor',
    validator: {
      validate: (value: unknown) => typeof value === 'string' && decodeCursor(value) !== undefined,
      defaultMessage: () => 'cursor must be a nextCursor this route returned',
    },
  });

// Rules run bottom-up, stopping at the first failure: the type check comes last.
/** `?limit=&cursor=` of GET /users/me/security-events. */
export class SecurityEventsQuery {
  @ApiProperty({ required: false, minimum: 1, maximum: MAX_AUDIT_PAGE_SIZE, default: 50 })
  @IsOptional()
  @QueryInt()
  @Max(MAX_AUDIT_PAGE_SIZE, { message: `limit must be an integer from 1 to ${MAX_AUDIT_PAGE_SIZE}` })
  @Min(1, { message: `limit must be an integer from 1 to ${MAX_AUDIT_PAGE_SIZE}` })
  @IsInt({ message: `limit must be an integer from 1 to ${MAX_AUDIT_PAGE_SIZE}` })
  limit: number = 50;

  @ApiProperty({ required: false, description: 'The nextCursor of the previous page' })
  @IsOptional()
  @IsCursor()
  @IsString({ message: 'cursor must be a nextCursor this route returned' })
  cursor?: string;
}

/** `?userId=&type=&limit=&cursor=` of GET /admin/audit-events. */
export class AuditEventsQuery extends SecurityEventsQuery {
  @ApiProperty({ required: false, format: 'uuid', description: 'Only the events about this user' })
  @IsOptional()
  @IsUUID('all', { message: 'userId must be a UUID' })
  @IsString({ message: 'userId must be a UUID' })
  userId?: string;

  @ApiProperty({ required: false, enum: AUDIT_EVENT_TYPES, description: 'Only the events of this type' })
  @IsOptional()
  @IsIn(AUDIT_EVENT_TYPES, { message: 'type must be one of the audit event types' })
  @IsString({ message: 'type must be one of the audit event types' })
  type?: AuditEventType;
}
