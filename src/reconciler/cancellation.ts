import type { Ledger, Run } from "../ledger/index.ts";
import { StackdError } from "../support/index.ts";
import type { AbortReason, ServiceContext } from "./context.ts";

/**
 * Stops a queued or running run: a queued one never starts; a running one
 * is interrupted the way Pulumi cancels, its processes ended after a grace,
 * its stack's lock and pending operations cleared (the run does that as it
 * ends). Recorded `cancelled` with who asked.
 */
export async function cancelRun(ctx: Pick<ServiceContext, "queue" | "aborts" | "log"> & { ledger: Ledger }, runId: string, by: string): Promise<Run> {
  const run = await ctx.ledger.runs.get(runId);
  if (!run) throw new StackdError(`no run ${runId}`, { kind: "not-found" });
  const running = ctx.aborts.get(runId);
  if (running) {
    running.abort({ kind: "cancel", by } satisfies AbortReason);
    ctx.log.info({ run: runId, stack: run.stack, by }, "cancelling run");
    return (await ctx.ledger.runs.get(runId))!;
  }
  const removed = ctx.queue.remove((job) => "runId" in job && job.runId === runId);
  if (removed.length === 0) throw new StackdError(`run ${runId} is ${run.status}: there is nothing to cancel`, { kind: "conflict" });
  await ctx.ledger.runs.setStatus(runId, "cancelled", `cancelled by ${by} before it started`);
  ctx.log.info({ run: runId, stack: run.stack, by }, "run cancelled before it started");
  return (await ctx.ledger.runs.get(runId))!;
}
