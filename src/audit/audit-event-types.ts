/**
 * The audit event types of the contract (../shared/API.md, "Administration and audit").
 * A const list, so that the query DTO, the export and record() check a type at run time
 * and the compiler checks it everywhere else.
 */
export const AUDIT_EVENT_TYPES = [
  'user.registered',
  'user.login_succeeded',
  'user.login_failed',
  'session.logout',
  'session.logout_all',
  'session.revoked',
  'session.reuse_detected',
  'user.password_changed',
  'user.password_reset_requested',
  'user.password_reset',
  'user.email_verified',
  'user.email_change_requested',
  'user.email_changed',
  'user.roles_changed',
  'user.disabled',
  'user.enabled',
  'user.deleted',
  'mfa.enabled',
  'mfa.disabled',
  'mfa.challenge_failed',
  'mfa.recovery_code_used',
  'mfa.recovery_codes_regenerated',
  'passkey.registered',
  'passkey.removed',
] as const;

export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

const KNOWN: ReadonlySet<string> = new Set(AUDIT_EVENT_TYPES);

export function isAuditEventType(value: unknown): value is AuditEventType {
  return typeof value === 'string' && KNOWN.has(value);
}
