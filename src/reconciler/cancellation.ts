import type { Ledger, Run } from "../ledger/index.ts";
import { StackdError } from "../support/index.ts";
import type { AbortReason, ServiceContext } from "./context.ts";

/**
 * Stops a queued or running run: a queued one never starts; a running one
 * is interrupted the way Pulumi cancels, its processes ended after a grace,
 * its stack's lock and pending operations cleared (the run does that as it
 * ends). Recorded `cancelled` with who asked. With replicas, a run another
 * replica runs is stopped there.
 */
export async function cancelRun(
  ctx: Pick<ServiceContext, "queue" | "aborts" | "log"> & { ledger: Ledger; replicas?: { signal(replica: string, s: { cancel: string; by: string }): Promise<void> } },
  runId: string,
  by: string,
): Promise<Run> {
  const run = await ctx.ledger.runs.get(runId);
  if (!run) throw new StackdError(`no run ${runId}`, { kind: "not-found" });
  const running = ctx.aborts.get(runId);
  if (running) {
    running.abort({ kind: "cancel", by } satisfies AbortReason);
    ctx.log.info({ run: runId, stack: run.stack, by }, "cancelling run");
    return (await ctx.ledger.runs.get(runId))!;
  }
  const removed = ctx.queue.remove((job) => "runId" in job && job.runId === runId);
  if (removed.length === 0 && ctx.replicas && run.status === "running" && run.replica) {
    // Another replica runs it: it gets the cancel through its own queue and stops it the same way.
    await ctx.replicas.signal(run.replica, { cancel: runId, by });
    ctx.log.info({ run: runId, stack: run.stack, by, replica: run.replica }, "cancelling run on its replica");
    return run;
  }
  // With replicas a queued run waits on the shared queue: recorded cancelled, it is never claimed.
  if (removed.length === 0 && !(ctx.replicas && run.status === "queued")) throw new StackdError(`run ${runId} is ${run.status}: there is nothing to cancel`, { kind: "conflict" });
  await ctx.ledger.runs.setStatus(runId, "cancelled", `cancelled by ${by} before it started`);
  ctx.log.info({ run: runId, stack: run.stack, by }, "run cancelled before it started");
  return (await ctx.ledger.runs.get(runId))!;
}
