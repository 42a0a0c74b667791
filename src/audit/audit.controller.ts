import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Role, Roles } from '../common/auth';
import { ApiErrors } from '../common/openapi';
import { AuditService } from './audit.service';
import { AuditEventPage, AuditVerification } from './dto/audit-event.response';
import { AuditEventsQuery } from './dto/audit-events.query';

/** The audit trail for admins. Behind the global JWT and roles guards (see AuthModule). */
@ApiTags('audit')
@Controller('admin/audit-events')
@Roles(Role.Admin)
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @ApiOperation({ summary: 'Audit events, newest first, a page at a time (admin)' })
  @ApiOkResponse({ type: AuditEventPage })
  @ApiErrors({ 400: 'validation_failed: userId is not a UUID, an unknown type, limit outside 1 to 100, or a malformed cursor' }, 403)
  list(@Query() query: AuditEventsQuery): Promise<AuditEventPage> {
    return this.audit.list(query);
  }

  @Get('verify')
  @ApiOperation({
    summary: 'Check the hash chain of every event (admin)',
    description:
      'Recomputes every event\'s hash from the oldest kept to the newest. `valid: false` names the first event that was changed ' +
      'or follows a missing one. The retention purge keeps the chain valid.',
  })
  @ApiOkResponse({ type: AuditVerification })
  @ApiErrors(403)
  verify(): Promise<AuditVerification> {
    return this.audit.verify();
  }
}
