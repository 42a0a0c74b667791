/** A JSON value as jsonb stores it and gives it back unchanged (no undefined, NaN, Infinity, Date or class instance). */
export type AuditValue = string | number | boolean | null | readonly AuditValue[] | { readonly [key: string]: AuditValue };

/** The non-secret details of an event: ids, roles, counts, such as `{ sessionId }` or `{ roles }`. Undefined properties are left out, as JSON does. */
export type AuditData = { readonly [key: string]: AuditValue | undefined };

/** `data` as it is stored and hashed. */
export type StoredAuditData = { readonly [key: string]: AuditValue };

/** Refused details: a programming error, so it fails the action (and its test) rather than write a secret for good. */
export class AuditDataError extends Error {
  constructor(message: string) {
    super(`Refused audit event: ${message}`);
    this.name = 'AuditDataError';
  }
}

/** A serialised `data` above this is not a detail any more. */
export const MAX_AUDIT_DATA_BYTES = 4096;

/**
 * Words of a key that name a secret or the address of an account. Long ones match
 * anywhere in the key (`newPassword`, `refresh_token`, `totpsecret`); short ones only as a
 * whole word of it (`code` and `recoveryCodes`, but not `passkeyId` or `codename`).
 */
const SECRET_FRAGMENTS = ['password', 'passwd', 'passphrase', 'secret', 'token', 'email', 'credential', 'cookie', 'authoriz', 'signature', 'privatekey', 'apikey'];
const SECRET_WORDS = new Set(['pwd', 'pass', 'code', 'codes', 'otp', 'totp', 'hash', 'hashes', 'digest', 'key', 'keys', 'salt', 'pin', 'jwt', 'bearer']);

function words(key: string): string[] {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase().split(/[^a-z0-9]+/).filter(Boolean);
}

/** Why this key is refused, or undefined. Exported for its unit spec. */
export function secretKeyProblem(key: string): string | undefined {
  const flat = key.toLowerCase().replace(/[^a-z0-9]/g, '');
  const fragment = SECRET_FRAGMENTS.find((word) => flat.includes(word));
  if (fragment) return `the key "${key}" names a secret or an email (${fragment})`;
  const word = words(key).find((part) => SECRET_WORDS.has(part));
  return word ? `the key "${key}" names a secret (${word})` : undefined;
}

/**
 * The copy of `data` that is written and hashed: plain JSON that jsonb gives back as it
 * is. Throws AuditDataError for a key that looks secret (at any depth), a value that is
 * not JSON (undefined, NaN, a Date, a class instance), nesting past 8 levels or more than
 * MAX_AUDIT_DATA_BYTES: all of them mistakes in the calling code, which its tests meet.
 * Text is never refused, since it may come from a client: a NUL (which jsonb refuses) or
 * a lone surrogate becomes U+FFFD. Messages name the key, never a value.
 */
export function toStorableAuditData(data: unknown): StoredAuditData {
  if (!isPlainObject(data)) throw new AuditDataError('data must be a plain object');
  const storable = copy(data, 'data', 0) as StoredAuditData;
  if (Buffer.byteLength(JSON.stringify(storable)) > MAX_AUDIT_DATA_BYTES) {
    throw new AuditDataError(`data is over ${MAX_AUDIT_DATA_BYTES} bytes`);
  }
  return storable;
}

/** Text as PostgreSQL stores it: no NUL, no lone surrogate. */
export function storableText(value: string): string {
  return value.toWellFormed().replaceAll('\u0000', '\uFFFD');
}

function copy(value: unknown, path: string, depth: number): AuditValue {
  if (depth > 8) throw new AuditDataError(`${path} nests deeper than 8 levels`);
  if (value === null || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new AuditDataError(`${path} is not a finite number`);
    return value === 0 ? 0 : value; // -0 is written as 0
  }
  if (typeof value === 'string') return storableText(value);
  if (Array.isArray(value)) return value.map((item, index) => copy(item, `${path}[${index}]`, depth + 1));
  if (isPlainObject(value)) {
    const result: Record<string, AuditValue> = Object.create(null) as Record<string, AuditValue>; // a "__proto__" key stays a key
    for (const [key, child] of Object.entries(value)) {
      if (child === undefined) continue;
      const problem = secretKeyProblem(key);
      if (problem) throw new AuditDataError(`${path}: ${problem}`);
      if (storableText(key) !== key) throw new AuditDataError(`${path} has a key that is not storable text`);
      result[key] = copy(child, `${path}.${key}`, depth + 1);
    }
    return result;
  }
  throw new AuditDataError(`${path} is not a JSON value (${value === undefined ? 'undefined' : typeof value})`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
