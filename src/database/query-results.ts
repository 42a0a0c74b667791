/** The rows of an UPDATE or DELETE … RETURNING: TypeORM's postgres driver answers [rows, count] for them. */
export function returnedRows<T>(result: unknown): T[] {
  return (Array.isArray(result) && Array.isArray(result[0]) ? result[0] : result) as T[];
}

/** How many rows an UPDATE or DELETE touched ([rows, count] from TypeORM's postgres driver); 0 if it says nothing. */
export function affectedCount(result: unknown): number {
  return Array.isArray(result) && typeof result[1] === 'number' ? result[1] : 0;
}
