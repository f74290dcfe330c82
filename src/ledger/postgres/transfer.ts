import type pg from "pg";
import { StackdError } from "../../support/index.ts";
import type { Async } from "../repositories.ts";
import { LEDGER_TABLES, type LedgerRestore, type LedgerRow, type LedgerTable } from "../transfer.ts";
import { numbered } from "./client.ts";

/** How each table is read out: creation order where it has one, else by key. */
const ORDER: Record<LedgerTable, string> = { stacks: "name", runs: "seq", drift: "first_seen, id", drift_checks: "stack", previews: "seq", meta: "key", deliveries: "id" };

/** Every row of every table, a page at a time, so a large ledger is not read into memory at once. */
export async function* dumpRows(pool: pg.Pool): AsyncGenerator<LedgerRow> {
  for (const table of LEDGER_TABLES) {
    for (let offset = 0; ; offset += 500) {
      const rows = (await pool.query(`SELECT * FROM ${table} ORDER BY ${ORDER[table]} LIMIT 500 OFFSET ${offset}`)).rows as LedgerRow["row"][];
      for (const row of rows) yield { table, row };
      if (rows.length < 500) break;
    }
  }
}

/**
 * Fills an empty PostgreSQL ledger in one transaction on one connection, as
 * SQLite's restore does; the identity columns then continue after the
 * largest imported seq.
 */
export async function restoreRows(pool: pg.Pool, where: string): Promise<Async<LedgerRestore>> {
  const client = await pool.connect();
  let open = true;
  const finish = async (sql: string) => {
    if (!open) throw new StackdError("the import is over", { kind: "runtime" });
    open = false;
    try {
      await client.query(sql);
    } finally {
      client.release();
    }
  };
  try {
    const busy: string[] = [];
    for (const t of LEDGER_TABLES.filter((t) => t !== "meta")) {
      const n = Number((await client.query(`SELECT count(*) AS n FROM ${t}`)).rows[0].n);
      if (n > 0) busy.push(`${n} ${t}`);
    }
    if (busy.length > 0) throw new StackdError(`the ledger already holds ${busy.join(", ")}: import into a new database`, { kind: "conflict", where });
    const columns = new Map<string, Set<string>>();
    for (const r of (await client.query("SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()")).rows as { table_name: string; column_name: string }[]) {
      columns.set(r.table_name, (columns.get(r.table_name) ?? new Set()).add(r.column_name));
    }
    await client.query("BEGIN");
    await client.query("DELETE FROM meta");
    const counts: Record<string, number> = Object.fromEntries(LEDGER_TABLES.map((t) => [t, 0]));
    return {
      async add({ table, row }) {
        const names = Object.keys(row);
        const unknown = names.filter((n) => !columns.get(table)?.has(n));
        if (unknown.length > 0) throw new StackdError(`table ${table} has no column ${unknown.join(", ")}: the export is from a newer stackd`, { kind: "usage" });
        const overriding = names.includes("seq") ? " OVERRIDING SYSTEM VALUE" : "";
        await client.query(numbered(`INSERT INTO ${table} (${names.join(", ")})${overriding} VALUES (${names.map(() => "?").join(", ")})`), names.map((n) => row[n]));
        counts[table]!++;
      },
      counts: async () => ({ ...counts }),
      async commit() {
        for (const table of ["runs", "previews"]) {
          await client.query(`SELECT setval(pg_get_serial_sequence('${table}', 'seq'), GREATEST((SELECT max(seq) FROM ${table}), 1))`);
        }
        await finish("COMMIT");
        return counts;
      },
      async abort() {
        if (open) await finish("ROLLBACK");
      },
    };
  } catch (err) {
    open = false;
    await client.query("ROLLBACK").catch(() => {});
    client.release();
    throw err;
  }
}
