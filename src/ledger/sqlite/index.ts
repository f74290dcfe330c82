import fs from "node:fs";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import type { LedgerStore } from "../repositories.ts";
import { SqliteApprovals } from "./approvals.ts";
import { SqliteDeliveries } from "./deliveries.ts";
import { SqliteDrift } from "./drift.ts";
import { SqliteMeta } from "./meta.ts";
import { migrate } from "./migrations.ts";
import { SqlitePreviews } from "./previews.ts";
import { SqliteRuns } from "./runs.ts";
import { SqliteStacks } from "./stacks.ts";
import { preparedOnce } from "./statements.ts";
import { dumpRows, restoreRows } from "./transfer.ts";

/**
 * The ledger in one SQLite file (WAL, so the CLI reads while the service
 * writes), migrated to the newest schema when opened.
 */
export function openSqliteLedger(file: string): LedgerStore {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const db = new DatabaseSync(file);
  db.exec("PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL;");
  const schemaVersion = migrate(db);
  const statements = preparedOnce(db);
  const runs = new SqliteRuns(statements);
  return {
    runs,
    stacks: new SqliteStacks(statements),
    drift: new SqliteDrift(statements),
    approvals: new SqliteApprovals(statements, runs),
    previews: new SqlitePreviews(statements),
    meta: new SqliteMeta(statements),
    deliveries: new SqliteDeliveries(statements),
    // Rows this connection changed, and commits by other connections (the CLI).
    version: () => {
      const v = statements.prepare("SELECT total_changes() AS changes, data_version AS other FROM pragma_data_version").get() as { changes: number; other: number };
      return `${v.changes}.${v.other}`;
    },
    schemaVersion,
    compact: () => db.exec("PRAGMA wal_checkpoint(TRUNCATE); VACUUM;"),
    dump: () => dumpRows(db),
    restore: () => restoreRows(db, file),
    close: () => db.close(),
  };
}
