import { Global, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { metricsConfig } from './metrics.config';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';

/** Global, like a logger: any module records its events through MetricsService without importing this one. */
@Global()
@Module({
  imports: [ConfigModule.forFeature(metricsConfig)],
  controllers: [MetricsController],
  providers: [MetricsService],
  exports: [MetricsService],
})
export class MetricsModule {}
