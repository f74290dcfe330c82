import type { Ledger } from "./repositories.ts";
import type { Run, StackRow } from "./types.ts";

/** What a stack needs or is doing, as Argo CD-style conditions. */
export type Condition = "Ready" | "Reconciling" | "Failing" | "Stalled" | "AwaitingApproval" | "Pinned" | "Orphaned";

/** A stack as people see it: sync, health, conditions, last run. */
export interface StackStatus {
  name: string;
  project: string;
  stack: string;
  applyMode: "auto" | "manual";
  appliedRevision: string | null;
  headRevision: string | null;
  sync: "Synced" | "OutOfSync";
  lastResult: string | null;
  failures: number;
  retryAt: string | null;
  conditions: Condition[];
  /** Drifted while a drift episode is open, InSync after a clean check, Unknown before any. */
  health: "Drifted" | "InSync" | "Unknown";
  /** Why the stack is Failing or Stalled: the error of the first failure of the streak. */
  reason: string | null;
  /** The condition in words: `Failing: <reason>, retry 2 at <time>`. */
  message: string | null;
  lastDriftCheck: string | null;
  lastRun: Run | null;
}

/** After this many failures in a row a stack is Stalled and retried with backoff. */
export const STALL_AFTER = 3;

/** A stack's status, derived from its ledger row, its recent runs and the branch head. */
export function deriveStatus(
  row: StackRow,
  recent: Run[],
  headRevision: string | null,
  drift?: { checkedAt: string; drifted: boolean },
): StackStatus {
  const conditions: Condition[] = [];
  // Drift checks read; only runs that change the stack make it Reconciling.
  if (recent.some((r) => (r.status === "queued" || r.status === "running") && r.kind !== "refresh")) conditions.push("Reconciling");
  if (row.failures >= STALL_AFTER) conditions.push("Stalled");
  else if (row.failures > 0) conditions.push("Failing");
  if (recent.some((r) => r.status === "awaiting_approval")) conditions.push("AwaitingApproval");
  if (conditions.length === 0 && row.lastResult === "succeeded" && !row.orphanedAt) conditions.push("Ready");
  if (row.pinned) conditions.push("Pinned");
  if (row.orphanedAt) conditions.push("Orphaned");
  const health = !drift ? "Unknown" : drift.drifted ? "Drifted" : "InSync";
  // The streak's first failure says what went wrong; later ones mostly repeat it.
  const streak = recent.filter((r) => r.status === "failed" && r.kind !== "refresh").slice(0, row.failures);
  const reason = row.failures > 0 ? (streak.at(-1)?.error ?? null) : null;
  return {
    name: row.name,
    project: row.project,
    stack: row.stack,
    applyMode: row.applyMode,
    appliedRevision: row.appliedRevision,
    headRevision,
    sync: headRevision !== null && row.appliedRevision === headRevision ? "Synced" : "OutOfSync",
    lastResult: row.lastResult,
    failures: row.failures,
    retryAt: row.retryAt,
    conditions,
    reason,
    message: reason ? `${conditions.includes("Stalled") ? "Stalled" : "Failing"}: ${reason}${row.retryAt ? `, retry ${row.failures + 1} at ${row.retryAt}` : ""}` : standing(row),
    health,
    lastDriftCheck: drift?.checkedAt ?? null,
    lastRun: recent[0] ?? null,
  };
}

/** What a stack that is not failing is held by, in words: a rollback's pin, or a stack file gone from the branch. */
function standing(row: StackRow): string | null {
  if (row.orphanedAt) {
    const left = row.resourceCount === null ? "its resources remain" : `${row.resourceCount} resource(s) remain`;
    return `Orphaned: Pulumi.${row.stack}.yaml left the branch at ${row.orphanedAt}; ${left} (prune: true destroys them)`;
  }
  if (row.pinned) return `Pinned: rolled back to ${row.pinned.revision.slice(0, 12)} by ${row.pinned.by}`;
  return null;
}

/**
 * Every stack's status from the ledger alone: what the service and `stackd
 * status --data-dir` both show. Three reads whatever the number of stacks
 * (the API asks for 1,000 stacks' statuses as often as a client polls).
 */
export async function stackStatuses(ledger: Ledger, headRevision: string | null): Promise<StackStatus[]> {
  const [recent, checks, rows] = await Promise.all([ledger.runs.recent(10), ledger.drift.lastChecks(), ledger.stacks.list()]);
  return rows.map((row) => deriveStatus(row, recent.get(row.name) ?? [], headRevision, checks.get(row.name)));
}
