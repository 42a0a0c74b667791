import { ApiProperty } from '@nestjs/swagger';
import { AUDIT_EVENT_TYPES, type AuditEventType } from '../audit-event-types';
import type { StoredAuditData } from '../audit-data';
import type { AuditEvent } from '../audit-event.entity';

/** The contract's audit event. */
export class AuditEventResponse {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ enum: AUDIT_EVENT_TYPES, example: 'user.login_succeeded' })
  type: AuditEventType;

  @ApiProperty({ type: String, format: 'uuid', nullable: true, description: 'Whom the event is about; null when no account is known' })
  userId: string | null;

  @ApiProperty({ type: String, format: 'uuid', nullable: true, description: 'Who did it: the user, an admin, or null (the system, an unknown caller)' })
  actorId: string | null;

  @ApiProperty({ type: String, nullable: true, example: '203.0.113.7', description: 'Null for events without a request, and once the user is deleted' })
  ip: string | null;

  @ApiProperty({ type: String, nullable: true, description: 'Null for events without a request, and once the user is deleted' })
  userAgent: string | null;

  @ApiProperty({ type: String, nullable: true, description: 'The X-Request-Id of the request, as on its log lines' })
  requestId: string | null;

  @ApiProperty({ format: 'date-time' })
  createdAt: string;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: { sessionId: '6f1c2a4e-8b0d-4c8e-9a51-2f0e6c1d7b3a' },
    description: 'Non-secret details, such as { sessionId } or { roles }',
  })
  data: StoredAuditData;
}

export function toAuditEventResponse(event: AuditEvent): AuditEventResponse {
  return {
    id: event.id,
    type: event.type as AuditEventType,
    userId: event.userId,
    actorId: event.actorId,
    ip: event.ip,
    userAgent: event.userAgent,
    requestId: event.requestId,
    createdAt: event.createdAt.toISOString(),
    data: event.data,
  };
}

export class AuditEventPage {
  @ApiProperty({ type: [AuditEventResponse], description: 'Newest first' })
  items: AuditEventResponse[];

  @ApiProperty({ type: String, nullable: true, description: 'Pass as `cursor` for the next (older) page; null on the last page' })
  nextCursor: string | null;
}

export class AuditVerification {
  @ApiProperty({ description: 'True when every event is as it was written and none is missing' })
  valid: boolean;

  @ApiProperty({ description: 'The events checked', example: 1234 })
  checked: number;

  @ApiProperty({
    type: String,
    format: 'uuid',
    nullable: true,
    description:
      'The first event (oldest first) that fails: changed, or following a missing one; when the newest events are missing, the newest the chain recorded',
  })
  firstInvalidId: string | null;
}
