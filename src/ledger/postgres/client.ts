import pg from "pg";

/** A row as pg returns it. */
export type Row = Record<string, unknown>;

/**
 * The queries the repositories make, in SQLite's `?` placeholder style
 * (numbered `$n` for PostgreSQL here), so both stores read alike.
 */
export interface Queries {
  all(sql: string, args?: unknown[]): Promise<Row[]>;
  one(sql: string, args?: unknown[]): Promise<Row | undefined>;
  /** The number of rows changed. */
  run(sql: string, args?: unknown[]): Promise<number>;
}

/** `?` placeholders as `$1`, `$2`, ... (no `?` appears in the ledger's SQL otherwise). */
export function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** Queries on a pool (each its own transaction) or on one client inside a transaction. */
export function queriesOn(db: pg.Pool | pg.PoolClient, ready: () => Promise<void> = async () => {}): Queries {
  const query = async (sql: string, args: unknown[] = []) => {
    await ready();
    return db.query(numbered(sql), args);
  };
  return {
    all: async (sql, args) => (await query(sql, args)).rows as Row[],
    one: async (sql, args) => (await query(sql, args)).rows[0] as Row | undefined,
    run: async (sql, args) => (await query(sql, args)).rowCount ?? 0,
  };
}

// BIGINT columns (seq, check run and comment ids) come back as numbers, as from SQLite:
// they stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));
