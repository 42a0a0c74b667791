import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { ScheduleModule } from '@nestjs/schedule';
import { AdminModule } from './admin/admin.module';
import { AuditModule } from './audit/audit.module';
import { AuthModule } from './auth/auth.module';
import { appConfig } from './config/app.config';
import { DatabaseModule } from './database/database.module';
import { HealthModule } from './health/health.module';
import { LoggingModule } from './logging/logging.module';
import { MailModule } from './mail/mail.module';
import { MetricsModule } from './metrics/metrics.module';
import { MfaModule } from './mfa/mfa.module';
import { ProjectsModule } from './projects/projects.module';
import { SCHEMA } from './schema';
import { UsersModule } from './users/users.module';

@Module({
  imports: [
    // Variables are read by each module's registerAs() slice; no .env file is loaded implicitly.
    ConfigModule.forRoot({ ignoreEnvFile: true, load: [appConfig] }),
    LoggingModule,
    MetricsModule,
    ScheduleModule.forRoot(),
    DatabaseModule.forRoot(SCHEMA),
    AuditModule,
    UsersModule,
    AuthModule,
    AdminModule,
    HealthModule,
    ProjectsModule,
    MailModule,
    MfaModule,
  ],
})
export class AppModule {}
