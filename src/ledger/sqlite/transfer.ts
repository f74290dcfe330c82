import type { DatabaseSync, StatementSync } from "node:sqlite";
import { StackdError } from "../../support/index.ts";
import { LEDGER_TABLES, type LedgerRestore, type LedgerRow, type LedgerTable } from "../transfer.ts";

/** Every row of every table, table by table in insertion order, read as it is written out. */
export function* dumpRows(db: DatabaseSync): Generator<LedgerRow> {
  for (const table of LEDGER_TABLES) {
    for (const row of db.prepare(`SELECT * FROM ${table} ORDER BY rowid`).iterate()) {
      yield { table, row: row as LedgerRow["row"] };
    }
  }
}

/**
 * Fills an empty ledger in one transaction. Columns are checked against the
 * table's own: an export of an older schema lacks later columns (left
 * empty); a column this schema does not know is refused by name.
 */
export function restoreRows(db: DatabaseSync, where: string): LedgerRestore {
  const held = LEDGER_TABLES.filter((t) => t !== "meta").map((t) => [t, (db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n] as const);
  const busy = held.filter(([, n]) => n > 0);
  if (busy.length > 0) {
    throw new StackdError(`the ledger already holds ${busy.map(([t, n]) => `${n} ${t}`).join(", ")}: import into a new data dir`, { kind: "conflict", where });
  }
  const columns = new Map<LedgerTable, Set<string>>(
    LEDGER_TABLES.map((t) => [t, new Set((db.prepare(`PRAGMA table_info(${t})`).all() as { name: string }[]).map((c) => c.name))]),
  );
  const inserts = new Map<string, StatementSync>();
  const counts: Record<string, number> = Object.fromEntries(LEDGER_TABLES.map((t) => [t, 0]));
  db.exec("BEGIN IMMEDIATE");
  // The service writes its own facts (its URL, the head) on start; an import brings the exported ones.
  db.exec("DELETE FROM meta");
  let open = true;
  const end = () => {
    if (!open) throw new StackdError("the import is over", { kind: "runtime" });
    open = false;
  };
  return {
    add({ table, row }) {
      const names = Object.keys(row);
      const unknown = names.filter((n) => !columns.get(table)!.has(n));
      if (unknown.length > 0) throw new StackdError(`table ${table} has no column ${unknown.join(", ")}: the export is from a newer stackd`, { kind: "usage" });
      const sql = `INSERT INTO ${table} (${names.join(", ")}) VALUES (${names.map(() => "?").join(", ")})`;
      let insert = inserts.get(sql);
      if (!insert) inserts.set(sql, (insert = db.prepare(sql)));
      insert.run(...names.map((n) => row[n]!));
      counts[table]!++;
    },
    counts: () => ({ ...counts }),
    commit() {
      end();
      db.exec("COMMIT");
      return counts;
    },
    abort() {
      if (!open) return;
      open = false;
      db.exec("ROLLBACK");
    },
  };
}
