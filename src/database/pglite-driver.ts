import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { messages as backend, Mutex, parse, PGlite, protocol, type Results } from '@electric-sql/pglite';
import { prepareValue } from 'pg/lib/utils';

/**
 * A `pg`-compatible driver over one embedded PGlite database, for TypeORM's
 * `postgres` dialect (`driver:` option).
 *
 * PGlite is a single session. TypeORM opens a "connection" per query runner and runs
 * BEGIN … COMMIT on it, so two runners sharing the session would interleave their
 * transactions (one's ROLLBACK undoing the other's work). `typeorm-pglite` shares it
 * that way; here a connection is an exclusive lease on the session instead, which
 * makes PGlite behave like a pool of size one.
 */
export function createPgliteDriver(dataDir: string, leaseTimeoutMs = 10_000, statementCacheSize = 100) {
  mkdirSync(dataDir, { recursive: true });
  let database: Promise<PGlite> | undefined;
  let statements: PreparedStatements | undefined;
  const lease = new Mutex();
  const open = () => (database ??= PGlite.create(dataDir));

  class PglitePool extends EventEmitter {
    connect(callback: (error: Error | null, client?: PgliteClient, release?: () => void) => void): void {
      acquire()
        .then(([client, release]) => callback(null, client, release))
        .catch((error: Error) => callback(error));
    }

    end(callback?: (error?: Error | null) => void): void {
      // The session to close is taken now: `database` is cleared below, before the lease is
      // won. Left open, PGlite's backend keeps re-arming its idle-statistics timer (a 10 s
      // setTimeout), so a process that has closed everything else never exits, and the next
      // start must recover the database from its WAL.
      const current = database;
      const closing = current ? lease.runExclusive(async () => (await current).close()) : Promise.resolve();
      database = undefined;
      statements = undefined;
      closing.then(() => callback?.(null), (error: Error) => callback?.(error));
    }
  }

  async function acquire(): Promise<[PgliteClient, () => void]> {
    const pglite = await open();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timeout exceeded when trying to connect to PGlite')), leaseTimeoutMs);
    });
    const acquiring = lease.acquire();
    try {
      const release = await Promise.race([acquiring, timeout]);
      statements ??= new PreparedStatements(statementCacheSize);
      return [new PgliteClient(pglite, statements), release];
    } catch (error) {
      acquiring.then((release) => release(), () => undefined); // hand back a lease won too late
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  return { Pool: PglitePool };
}

/**
 * The session's named prepared statements, by SQL text, oldest first. Parsing and planning
 * are most of what a small query costs PGlite: a prepared SELECT by a unique key costs a
 * fifth of an unprepared one. Statements outlive transactions, rolled back or not.
 */
class PreparedStatements {
  private readonly byText = new Map<string, string>();
  private readonly evicted: string[] = [];
  private created = 0;

  constructor(private readonly capacity: number) {}

  get(sql: string): string | undefined {
    return this.byText.get(sql);
  }

  newName(): string {
    this.created += 1;
    return `pglite_${this.created}`;
  }

  add(sql: string, name: string): void {
    this.byText.set(sql, name);
    if (this.byText.size <= this.capacity) return;
    const [oldestText, oldestName] = this.byText.entries().next().value as [string, string];
    this.byText.delete(oldestText);
    this.evicted.push(oldestName);
  }

  /** Drops a statement from the cache; the next batch closes it. */
  forget(sql: string): void {
    const name = this.byText.get(sql);
    if (name === undefined) return;
    this.byText.delete(sql);
    this.evicted.push(name);
  }

  /** Statements dropped from the cache, to be closed by the next batch. */
  takeEvicted(): string[] {
    return this.evicted.splice(0);
  }

  /** A batch that failed may not have closed them: closing twice is harmless. */
  returnEvicted(names: string[]): void {
    this.evicted.push(...names);
  }
}

/** The statement is gone (26000) or no longer fits the table it reads (0A000): prepare it anew. */
const STALE_STATEMENT = new Set(['26000', '0A000']);

/** The part of `pg.Client` that TypeORM's PostgresQueryRunner uses. */
class PgliteClient extends EventEmitter {
  constructor(
    private readonly pglite: PGlite,
    private readonly statements: PreparedStatements,
  ) {
    super();
  }

  async query(sql: string, parameters?: unknown[]) {
    const result = parameters && parameters.length > 0
      ? await this.extendedQuery(sql, parameters)
      : (await this.pglite.exec(sql)).at(-1) ?? { rows: [], affectedRows: 0, fields: [] };
    // pg reports the command tag; PGlite does not. TypeORM only needs it to tell UPDATE and
    // DELETE apart, so the first keyword after any comments serves (not for WITH … UPDATE).
    const command = /^(?:\s+|--[^\n]*\n|\/\*[\s\S]*?\*\/)*(\w+)/.exec(sql)?.[1]?.toUpperCase();
    return {
      command,
      rows: result.rows,
      rowCount: command === 'SELECT' ? result.rows.length : (result.affectedRows ?? 0),
      fields: result.fields,
    };
  }

  /**
   * A parameterised query as `pg` sends it: parameters as text of unspecified type, for
   * the server to infer, in one Close/Parse/Bind/Describe/Execute/Sync batch, the Parse
   * only the first time a text is seen. PGlite's own `query()` parses every time, asks for
   * the parameter types, and sends each message on its own: six trips into the
   * WebAssembly backend instead of one.
   */
  private async extendedQuery(sql: string, parameters: unknown[]): Promise<Results> {
    const { serialize } = protocol;
    const values = parameters.map((value) => prepareValue(value) as string | Uint8Array | null);
    const prepared = this.statements.get(sql);
    const name = prepared ?? this.statements.newName();
    const closing = this.statements.takeEvicted();
    const batch = concat([
      ...closing.map((evicted) => serialize.close({ type: 'S', name: evicted })),
      ...(prepared ? [] : [serialize.parse({ name, text: sql })]),
      serialize.bind({ statement: name, values }),
      serialize.describe({ type: 'P' }),
      serialize.execute({}),
      serialize.sync(),
    ]);
    const { messages } = await this.pglite.runExclusive(() => this.pglite.execProtocol(batch, { throwOnError: false }));
    // A statement that parsed exists now, even if its execution failed.
    if (!prepared && messages.some((message) => message.name === 'parseComplete')) this.statements.add(sql, name);
    const error = messages.find((message) => message instanceof backend.DatabaseError);
    if (error) {
      this.statements.returnEvicted(closing);
      if (prepared && error.code && STALE_STATEMENT.has(error.code)) {
        this.statements.forget(sql);
        return this.extendedQuery(sql, parameters);
      }
      throw error;
    }
    return parse.parseResults(messages, this.pglite.parsers)[0] ?? { rows: [], affectedRows: 0, fields: [] };
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const whole = new Uint8Array(parts.reduce((length, part) => length + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    whole.set(part, offset);
    offset += part.length;
  }
  return whole;
}
