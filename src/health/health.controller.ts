import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { Public } from '../common/auth';
import { ApiError } from '../common/api-error';
import { ApiErrors } from '../common/openapi';

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
  ) {}

  @Public()
  @Get()
  @HealthCheck({ swaggerDocumentation: false })
  @ApiOperation({ summary: 'Liveness and database status' })
  @ApiOkResponse({
    description: 'The database is up',
    schema: { example: { status: 'ok', info: { database: { status: 'up' } }, error: {}, details: { database: { status: 'up' } } } },
  })
  @ApiErrors({ 503: 'database_unavailable: the database is unreachable' })
  async check() {
    try {
      return await this.health.check([() => this.database.pingCheck('database', { timeout: 2000 })]);
    } catch {
      // Terminus's 503 body, reshaped into the contract's error body.
      throw new ApiError(503, 'database_unavailable', 'The database is unreachable', {
        status: 'error',
        details: { database: { status: 'down' } },
      });
    }
  }
}
