// SQL both stores run as it is (SQLite's `?` placeholders; PostgreSQL's are numbered on the way).
import { mask } from "../support/index.ts";
import type { RunsRepository, StacksRepository } from "./repositories.ts";
import { json, now } from "./sqlite/rows.ts";

/** Every column of a run but its log: lists and statuses never show it, and reading a thousand logs only to drop them costs megabytes. */
export const RUN_COLUMNS = `id, seq, stack, revision, kind, trigger, status, created_at, started_at, finished_at, changes, resources, policy, error,
  state_version, approval_of, runtime, plugins, requested_by, approved_by, plan_digest, checkpoint, replica, cascade_of`;

/**
 * A replica takes a queued run (status `running`, and who runs it): a
 * conditional update, so of replicas racing for one run exactly one wins.
 */
export const CLAIM_RUN = "UPDATE runs SET status = 'running', started_at = ?, replica = ? WHERE id = ? AND status = 'queued'";

/** A queued run superseded before anyone took it (conditional, like CLAIM_RUN). */
export const SKIP_QUEUED_RUN = "UPDATE runs SET status = 'skipped', error = ?, finished_at = ? WHERE id = ? AND status = 'queued'";

/** A run's end: its status, plan, policy results and log (masked). */
export const FINISH_RUN =
  "UPDATE runs SET status = ?, finished_at = ?, changes = ?, resources = ?, policy = ?, error = ?, log = ?, runtime = ?, plugins = ?, plan_digest = ?, checkpoint = ? WHERE id = ?";

/** FINISH_RUN's arguments. */
export function finishArgs(id: string, result: Parameters<RunsRepository["finish"]>[1]): (string | null)[] {
  return [
    result.status,
    now(),
    json(result.changes),
    json(result.resources),
    json(result.policy),
    result.error ? mask(result.error) : null,
    result.log ? mask(result.log) : null,
    result.runtime ?? null,
    json(result.plugins),
    result.plan?.digest ?? null,
    result.plan?.checkpoint ?? null,
    id,
  ];
}

/** A finished run's effect on its stack row (flags are 1 or 0, which both stores compare alike). */
export const RECORD_OUTCOME = `UPDATE stacks SET
    applied_revision = COALESCE(?, applied_revision),
    state_version = state_version + ?,
    failures = CASE WHEN ? = 1 THEN COALESCE(?, failures + 1) WHEN ? = 1 THEN failures ELSE 0 END,
    retry_at = CASE WHEN ? = 1 THEN retry_at ELSE ? END,
    last_result = CASE WHEN ? = 1 THEN last_result ELSE ? END
  WHERE name = ?`;

/** RECORD_OUTCOME's arguments. */
export function outcomeArgs(name: string, o: Parameters<StacksRepository["recordOutcome"]>[1]): (string | number | null)[] {
  const keep = o.keepFailures ? 1 : 0;
  return [o.applied ?? null, o.stateChanged ? 1 : 0, o.failed ? 1 : 0, o.failures ?? null, keep, keep, o.retryAt ?? null, keep, o.result, name];
}
