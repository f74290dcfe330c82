// The durable record: runs, stacks, drift, approvals, previews. Stores only; meaning lives with its owners.
import path from "node:path";
import { StackdError } from "../support/index.ts";
import { asyncLedger } from "./async.ts";
import { openPostgresLedger } from "./postgres/index.ts";
import type { Ledger, LedgerStore } from "./repositories.ts";
import { openSqliteLedger } from "./sqlite/index.ts";
import { maskUrl } from "./urls.ts";

export { asyncLedger } from "./async.ts";
export { maskUrl } from "./urls.ts";

export type { Async, Ledger, LedgerStore, RunsRepository, StacksRepository, DriftRepository, ApprovalsRepository, PreviewsRepository, MetaRepository, DeliveriesRepository } from "./repositories.ts";
export { openSqliteLedger } from "./sqlite/index.ts";
export { openPostgresLedger, PG_MIGRATIONS } from "./postgres/index.ts";
export { MIGRATIONS } from "./sqlite/migrations.ts";
export { deriveStatus, stackStatuses, STALL_AFTER, type StackStatus, type Condition } from "./status.ts";
export type * from "./types.ts";
export { LEDGER_TABLES, TRANSFER_FORMAT, TransferEnd, TransferHeader, TransferRow, type LedgerRestore, type LedgerRow, type LedgerTable } from "./transfer.ts";

/**
 * The ledger: PostgreSQL when `database` is a postgres:// URL, else the data
 * dir's embedded `<data dir>/ledger.db`. `applicationName` names its
 * connections in pg_stat_activity.
 */
export function openLedger(dataDir: string, database?: string, applicationName?: string): Ledger {
  if (database) return openPostgresLedger(checkDatabaseUrl(database), applicationName);
  return asyncLedger(openLedgerStore(dataDir));
}

/** A database URL stackd can use: postgres:// or postgresql://, else a usage error naming what is accepted. */
export function checkDatabaseUrl(url: string): string {
  if (!/^postgres(ql)?:\/\/./.test(url)) throw new StackdError(`"${maskUrl(url)}" is not a PostgreSQL URL: use postgres://user:password@host:5432/database`, { kind: "usage", where: "--database" });
  return url;
}

/** The embedded store of a data dir itself, answering at once (for readers beside the service). */
export function openLedgerStore(dataDir: string): LedgerStore {
  return openSqliteLedger(path.join(dataDir, "ledger.db"));
}
