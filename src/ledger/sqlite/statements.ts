import type { DatabaseSync, StatementSync } from "node:sqlite";

/** What the repositories ask of the database: the statement for a SQL text. */
export interface Statements {
  prepare(sql: string): StatementSync;
}

/**
 * Prepares each SQL text once and hands out the same statement after. A
 * statement's memory is SQLite's, outside V8's heap, and is freed only when
 * its small JS object is collected: prepared afresh for every stack of every
 * GET /api/stacks, 1,000 stacks held hundreds of MB between collections.
 * The repositories' SQL texts are few (filters vary among a handful of forms),
 * so the cache stays small; DatabaseSync.close finalizes them all.
 */
export function preparedOnce(db: DatabaseSync): Statements {
  const cache = new Map<string, StatementSync>();
  return {
    prepare(sql) {
      let statement = cache.get(sql);
      if (!statement) cache.set(sql, (statement = db.prepare(sql)));
      return statement;
    },
  };
}
