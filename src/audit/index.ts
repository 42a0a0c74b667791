/**
 * What features use of the audit trail: the service and its types. A flow records with one
 * line, in its transaction: `await this.audit.record({ type, userId, actorId, client, data }, manager)`.
 */
export { AuditService, type AuditRecord } from './audit.service';
export { AUDIT_EVENT_TYPES, type AuditEventType, isAuditEventType } from './audit-event-types';
export { type AuditData, AuditDataError, type AuditValue } from './audit-data';
