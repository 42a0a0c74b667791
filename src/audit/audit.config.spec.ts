import { describe, expect, it } from 'vitest';
import { configErrorOf, isolateEnv } from '../../test/support/env';
import { auditConfig } from './audit.config';

describe('auditConfig', () => {
  isolateEnv(['AUDIT_RETENTION']);

  it('keeps events 400 days by default', () => {
    expect(auditConfig().retentionSeconds).toBe(400 * 86400);
  });

  it('reads AUDIT_RETENTION as a duration', () => {
    process.env.AUDIT_RETENTION = '30d';
    expect(auditConfig().retentionSeconds).toBe(30 * 86400);
    process.env.AUDIT_RETENTION = '3600';
    expect(auditConfig().retentionSeconds).toBe(3600);
  });

  it.each(['0', '-1d', '1y', 'forever'])('refuses AUDIT_RETENTION=%s, naming the variable', (value) => {
    process.env.AUDIT_RETENTION = value;
    expect(configErrorOf(() => auditConfig()).message).toMatch(/^Invalid configuration: AUDIT_RETENTION /);
  });
});
