import { QueryFailedError, TypeORMError } from 'typeorm';

/** PostgreSQL's SQLSTATE of a failed query, or a Node error code such as ECONNREFUSED. */
function errorCode(error: unknown): string | undefined {
  const cause = error instanceof QueryFailedError ? error.driverError : error;
  const code = (cause as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function isUniqueViolation(error: unknown): boolean {
  return errorCode(error) === '23505';
}

/** A row points at one that is gone (e.g. a project of a user deleted meanwhile). */
export function isForeignKeyViolation(error: unknown): boolean {
  return errorCode(error) === '23503';
}

/** A value the database refused as malformed: a client's input that slipped past validation. */
export function isInvalidInput(error: unknown): boolean {
  const code = errorCode(error);
  return error instanceof QueryFailedError && code !== undefined && code.startsWith('22');
}

const CONNECTION_MESSAGES = /connection terminated|timeout exceeded when trying to connect|connection error|not connected|terminating connection|pglite is clos/i;

/**
 * Errors that mean "the database is unreachable or failing", answered with 503:
 * refused or dropped connections (Node codes, SQLSTATE classes 08, 53, 57P), and any
 * other failure of TypeORM's driver that is not the client's doing.
 */
export function isDatabaseFailure(error: unknown): boolean {
  if (error instanceof TypeORMError) return true; // QueryFailedError included
  const code = errorCode(error) ?? '';
  if (/^(ECONN|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN)/.test(code)) return true;
  if (/^(08|53|57P)/.test(code)) return true;
  return error instanceof Error && CONNECTION_MESSAGES.test(error.message);
}
