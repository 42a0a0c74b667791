import { Global, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { auditConfig } from './audit.config';
import { AuditChainMark } from './audit-chain-mark.entity';
import { AuditController } from './audit.controller';
import { AuditEvent } from './audit-event.entity';
import { AuditService } from './audit.service';
import { SecurityEventsController } from './security-events.controller';

/**
 * The audit trail. Global, like MetricsModule: every feature records through AuditService
 * (`import { AuditService } from '../audit'`) without importing this module, and nothing
 * here imports a feature.
 */
@Global()
@Module({
  imports: [ConfigModule.forFeature(auditConfig), TypeOrmModule.forFeature([AuditEvent, AuditChainMark])],
  controllers: [AuditController, SecurityEventsController],
  providers: [AuditService],
  exports: [AuditService],
})
export class AuditModule {}
