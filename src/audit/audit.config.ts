import { registerAs } from '@nestjs/config';
import { env } from '../config/env';

export const auditConfig = registerAs('audit', () => ({
  /** AUDIT_RETENTION: events older than this are deleted by the hourly purge, oldest first. */
  retentionSeconds: env.durationSeconds('AUDIT_RETENTION', '400d'),
}));

export type AuditConfig = ReturnType<typeof auditConfig>;
