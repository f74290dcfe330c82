import type { DatabaseSync } from "node:sqlite";
import { StackdError } from "../../support/index.ts";

/**
 * The ledger's schema, one numbered step at a time. A step is never edited
 * once released: a change of schema is a new step at the end. Step 1 is the
 * schema stackd 0.1.0 created without a version (hence IF NOT EXISTS), so a
 * ledger of that release is brought forward like any other.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: runs, stacks, drift episodes and checks, pull request previews, meta.
  `
  CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    stack TEXT NOT NULL,
    revision TEXT NOT NULL,
    kind TEXT NOT NULL,
    trigger TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    changes TEXT,
    resources TEXT,
    policy TEXT,
    error TEXT,
    log TEXT,
    state_version INTEGER,
    approval_of TEXT
  );
  CREATE INDEX IF NOT EXISTS runs_by_stack ON runs (stack, seq);
  CREATE TABLE IF NOT EXISTS stacks (
    name TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    stack TEXT NOT NULL,
    applied_revision TEXT,
    state_version INTEGER NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0,
    retry_at TEXT,
    last_result TEXT,
    apply_mode TEXT NOT NULL DEFAULT 'auto'
  );
  CREATE TABLE IF NOT EXISTS drift (
    id TEXT PRIMARY KEY,
    stack TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status TEXT NOT NULL,
    revision TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    times_seen INTEGER NOT NULL,
    closed_at TEXT,
    run_id TEXT NOT NULL,
    resources TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS drift_by_stack ON drift (stack, status);
  CREATE TABLE IF NOT EXISTS drift_checks (stack TEXT PRIMARY KEY, checked_at TEXT NOT NULL, drifted INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS previews (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    repo TEXT NOT NULL,
    pr INTEGER NOT NULL,
    head TEXT NOT NULL,
    base TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    finished_at TEXT,
    report TEXT,
    markdown TEXT,
    error TEXT,
    check_run_id INTEGER,
    comment_id INTEGER
  );
  CREATE INDEX IF NOT EXISTS previews_by_pr ON previews (repo, pr, seq);
  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  `,
  // 2: which runtime and provider plugins (with their sha256) each run used.
  `
  ALTER TABLE runs ADD COLUMN runtime TEXT;
  ALTER TABLE runs ADD COLUMN plugins TEXT;
  `,
  // 3: who asked for a run and who approved it (API token names); webhook deliveries seen.
  `
  ALTER TABLE runs ADD COLUMN requested_by TEXT;
  ALTER TABLE runs ADD COLUMN approved_by TEXT;
  CREATE TABLE IF NOT EXISTS deliveries (id TEXT PRIMARY KEY, received_at TEXT NOT NULL);
  CREATE INDEX IF NOT EXISTS deliveries_by_time ON deliveries (received_at);
  `,
  // 4: the update plan a preview saved (or an approved up applied): its sha256 and the state checkpoint it was made against.
  `
  ALTER TABLE runs ADD COLUMN plan_digest TEXT;
  ALTER TABLE runs ADD COLUMN checkpoint TEXT;
  `,
  // 5: which replica ran a run (null for a single stackd).
  `
  ALTER TABLE runs ADD COLUMN replica TEXT;
  `,
  // 6: the stack graph: which run's change made a run (a cascade); per stack, the stacks it read
  // through StackReference, its outputs' digest and resource count after its last up.
  `
  ALTER TABLE runs ADD COLUMN cascade_of TEXT;
  ALTER TABLE stacks ADD COLUMN reads TEXT;
  ALTER TABLE stacks ADD COLUMN outputs_digest TEXT;
  ALTER TABLE stacks ADD COLUMN resource_count INTEGER;
  `,
  // 7: a stack pinned to an earlier revision by a rollback (JSON); when its stack file left the branch.
  `
  ALTER TABLE stacks ADD COLUMN pinned TEXT;
  ALTER TABLE stacks ADD COLUMN orphaned_at TEXT;
  `,
];

/**
 * Brings a ledger to the newest schema: each step not yet applied runs in a
 * transaction with the version bump (PRAGMA user_version), so a crash
 * mid-way leaves the ledger at the previous version, never half-migrated.
 * Returns the version reached.
 */
export function migrate(db: DatabaseSync): number {
  const current = (db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version;
  if (current > MIGRATIONS.length) {
    throw new StackdError(`the ledger is at schema version ${current}, newer than this stackd knows (${MIGRATIONS.length}): use a newer stackd`, { kind: "config" });
  }
  for (let v = current + 1; v <= MIGRATIONS.length; v++) {
    db.exec("BEGIN IMMEDIATE");
    try {
      db.exec(MIGRATIONS[v - 1]!);
      db.exec(`PRAGMA user_version = ${v}`);
      db.exec("COMMIT");
    } catch (err) {
      db.exec("ROLLBACK");
      throw err;
    }
  }
  return MIGRATIONS.length;
}
