import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { Public } from '../auth/decorators/public.decorator';
import { ApiError } from '../common/api-error';

@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
  ) {}

  @Public()
  @Get()
  @HealthCheck()
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
