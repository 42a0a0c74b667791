import { createHash } from 'node:crypto';
import type { AuditValue, StoredAuditData } from './audit-data';

/**
 * The hash chain of the audit trail, as pure functions (the service does the SQL).
 *
 * Each event's `hash` is SHA-256 over a canonical text of every column of its row and the
 * `hash` of the event before it (`prev_hash`), so that changing any column of any row, or
 * deleting a row, breaks the chain where it happened. The first event follows GENESIS_HASH.
 *
 * The IP and the user agent are covered through `pii_digest`, SHA-256 over them and a
 * random per-event salt: when a user is deleted their events lose IP, user agent and salt
 * (nothing else in an event identifies a person), and the digest that stays behind can no
 * longer be matched against a guessed IP, while the chain still verifies.
 */

export const GENESIS_HASH = '0'.repeat(64);

/** Bumped if the canonical text ever changes (then verification must know both). */
const EVENT_FORMAT = 'audit-event/1';
const PII_FORMAT = 'audit-pii/1';

/** The columns an event's hash covers, as the row holds them. */
export interface ChainedEvent {
  id: string;
  /** bigint, as text (the driver's form). */
  seq: string;
  type: string;
  userId: string | null;
  actorId: string | null;
  requestId: string | null;
  createdAt: Date;
  data: StoredAuditData;
  piiDigest: string;
  prevHash: string;
}

/** A row as verification reads it: the chained columns, the personal ones and the stored hash. */
export interface StoredEvent extends ChainedEvent {
  ip: string | null;
  userAgent: string | null;
  /** Null once the event's user was deleted (and ip and userAgent with it). */
  piiSalt: string | null;
  hash: string;
}

/**
 * JSON with object keys sorted (by UTF-16 code units), no white space, arrays in order:
 * one text per value, whatever order jsonb gives the keys back in.
 */
export function canonicalJson(value: AuditValue | undefined): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error('canonicalJson: not a finite number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((item: AuditValue) => canonicalJson(item)).join(',')}]`;
  const object = value as { readonly [key: string]: AuditValue };
  const keys = Object.keys(object).filter((key) => object[key] !== undefined).sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(object[key])}`).join(',')}}`;
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Commits to the IP and user agent without revealing them once the salt is gone. */
export function piiDigest(salt: string, ip: string | null, userAgent: string | null): string {
  return sha256(canonicalJson([PII_FORMAT, salt, ip, userAgent]));
}

/** The event's hash: over the previous hash and every column (ip, user agent and salt through pii_digest). */
export function eventHash(event: ChainedEvent): string {
  return sha256(
    canonicalJson([
      EVENT_FORMAT,
      event.prevHash,
      event.seq,
      event.id,
      event.type,
      event.userId,
      event.actorId,
      event.requestId,
      event.createdAt.toISOString(),
      event.piiDigest,
      event.data,
    ]),
  );
}

export function nextSeq(seq: string): string {
  return (BigInt(seq) + 1n).toString();
}

/** Where the chain stands before a row: the seq and hash of the row before it (or of the purge's anchor). */
export interface ChainPosition {
  seq: string;
  hash: string;
}

/**
 * Why a row breaks the chain after `previous`, or undefined when it is sound. A redacted
 * row (no salt) is sound only if its user's deletion is on record (`isDeletedUser`).
 */
export function chainProblem(
  row: StoredEvent,
  previous: ChainPosition,
  isDeletedUser: (userId: string | null) => boolean,
): string | undefined {
  if (row.seq !== nextSeq(previous.seq)) return 'an event is missing before it';
  if (row.prevHash !== previous.hash) return 'it does not follow the event before it';
  if (row.piiSalt === null) {
    if (row.ip !== null || row.userAgent !== null) return 'its IP or user agent was changed';
    if (!isDeletedUser(row.userId)) return 'it was redacted, but its user was not deleted';
  } else if (piiDigest(row.piiSalt, row.ip, row.userAgent) !== row.piiDigest) {
    return 'its IP or user agent was changed';
  }
  if (eventHash(row) !== row.hash) return 'its content was changed';
  return undefined;
}
