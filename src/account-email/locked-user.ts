import type { EntityManager } from 'typeorm';

/** The columns a mail-sending flow needs of a user, read with a lock in its transaction. */
export interface LockedUser {
  id: string;
  email: string;
  display_name: string | null;
  email_verified_at: Date | null;
  disabled_at: Date | null;
}

/**
 * The user's row (by id or by address), locked until the transaction ends: a concurrent
 * disable, email change or reset waits for this one, and this one sees what committed before it.
 */
export async function lockUser(manager: EntityManager, by: { id: string } | { email: string }): Promise<LockedUser | undefined> {
  const [column, value] = 'id' in by ? ['id', by.id] : ['email', by.email];
  const rows: LockedUser[] = await manager.query(
    `SELECT id, email, display_name, email_verified_at, disabled_at FROM users WHERE ${column} = $1 FOR UPDATE`,
    [value],
  );
  return rows[0];
}
