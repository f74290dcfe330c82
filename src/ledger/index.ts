// The durable record: runs, stacks, drift, approvals, previews. Stores only; meaning lives with its owners.
import path from "node:path";
import { asyncLedger } from "./async.ts";

export { asyncLedger } from "./async.ts";
import type { Ledger, LedgerStore } from "./repositories.ts";
import { openSqliteLedger } from "./sqlite/index.ts";

export type { Async, Ledger, LedgerStore, RunsRepository, StacksRepository, DriftRepository, ApprovalsRepository, PreviewsRepository, MetaRepository, DeliveriesRepository } from "./repositories.ts";
export { openSqliteLedger } from "./sqlite/index.ts";
export { MIGRATIONS } from "./sqlite/migrations.ts";
export { deriveStatus, stackStatuses, STALL_AFTER, type StackStatus, type Condition } from "./status.ts";
export type * from "./types.ts";
export { LEDGER_TABLES, TRANSFER_FORMAT, TransferEnd, TransferHeader, TransferRow, type LedgerRestore, type LedgerRow, type LedgerTable } from "./transfer.ts";

/** The ledger of a data dir: `<data dir>/ledger.db`. */
export function openLedger(dataDir: string): Ledger {
  return asyncLedger(openLedgerStore(dataDir));
}

/** The embedded store of a data dir itself, answering at once (for readers beside the service). */
export function openLedgerStore(dataDir: string): LedgerStore {
  return openSqliteLedger(path.join(dataDir, "ledger.db"));
}
