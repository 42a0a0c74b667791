import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { type AuthUser, CurrentUser } from '../common/auth';
import { ApiErrors } from '../common/openapi';
import { AuditService } from './audit.service';
import { AuditEventPage } from './dto/audit-event.response';
import { SecurityEventsQuery } from './dto/audit-events.query';

/** The caller's own audit events. Under /users/me for the client, served by the audit module. */
@ApiTags('users')
@Controller('users/me/security-events')
export class SecurityEventsController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @ApiOperation({ summary: "The caller's own audit events, newest first, a page at a time" })
  @ApiOkResponse({ type: AuditEventPage })
  @ApiErrors({ 400: 'validation_failed: limit outside 1 to 100, or a malformed cursor' })
  list(@CurrentUser() caller: AuthUser, @Query() query: SecurityEventsQuery): Promise<AuditEventPage> {
    return this.audit.list({ limit: query.limit, cursor: query.cursor, userId: caller.id });
  }
}
