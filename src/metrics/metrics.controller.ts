import { createHash, timingSafeEqual } from 'node:crypto';
import { Controller, Get, Headers, Inject, Logger, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public } from '../common/auth';
import { ApiError } from '../common/api-error';
import { metricsConfig, MetricsConfig } from './metrics.config';
import { MetricsService } from './metrics.service';

/** Prometheus scrape target: operational, so not part of the API document. */
@ApiExcludeController()
@Controller('metrics')
export class MetricsController {
  private readonly expectedDigest?: Buffer;
  private readonly served: boolean;

  constructor(
    private readonly metrics: MetricsService,
    @Inject(metricsConfig.KEY) config: MetricsConfig,
  ) {
    this.expectedDigest = config.token === undefined ? undefined : digest(`Bearer ${config.token}`);
    this.served = config.served;
    if (!this.served) new Logger('Metrics').warn('/metrics is off: NODE_ENV=production and no METRICS_TOKEN is set');
  }

  /** Public to the JWT guard: a scraper holds no user token, only METRICS_TOKEN when that is set. */
  @Public()
  @Get()
  async scrape(@Headers('authorization') authorization: string | undefined, @Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    // Off: answered as any unknown route is, so that nothing tells it exists.
    if (!this.served) throw new ApiError(404, 'not_found', 'Route not found');
    if (this.expectedDigest && !timingSafeEqual(digest(authorization ?? ''), this.expectedDigest)) {
      throw new ApiError(401, authorization ? 'token_invalid' : 'token_missing', 'A valid METRICS_TOKEN is required');
    }
    void reply.header('Content-Type', this.metrics.contentType).header('Cache-Control', 'no-store');
    return this.metrics.exposition();
  }
}

/** Equal-length digests, so that the comparison takes the same time whatever was sent. */
function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
