import fs from "node:fs";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import type { Ledger } from "../repositories.ts";
import { SqliteApprovals } from "./approvals.ts";
import { SqliteDeliveries } from "./deliveries.ts";
import { SqliteDrift } from "./drift.ts";
import { SqliteMeta } from "./meta.ts";
import { migrate } from "./migrations.ts";
import { SqlitePreviews } from "./previews.ts";
import { SqliteRuns } from "./runs.ts";
import { SqliteStacks } from "./stacks.ts";

/**
 * The ledger in one SQLite file (WAL, so the CLI reads while the service
 * writes), migrated to the newest schema when opened.
 */
export function openSqliteLedger(file: string): Ledger {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const db = new DatabaseSync(file);
  db.exec("PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL;");
  const schemaVersion = migrate(db);
  const runs = new SqliteRuns(db);
  return {
    runs,
    stacks: new SqliteStacks(db),
    drift: new SqliteDrift(db),
    approvals: new SqliteApprovals(db, runs),
    previews: new SqlitePreviews(db),
    meta: new SqliteMeta(db),
    deliveries: new SqliteDeliveries(db),
    schemaVersion,
    compact: () => db.exec("PRAGMA wal_checkpoint(TRUNCATE); VACUUM;"),
    close: () => db.close(),
  };
}
