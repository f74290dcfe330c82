// The ledger's tables. Runs are append-mostly; stacks hold what is derived
// from runs and must survive restarts (applied revision, failure streak).
export const SCHEMA = `
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
`;
