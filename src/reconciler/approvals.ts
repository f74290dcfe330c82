import type { Run } from "../ledger/index.ts";
import { StackdError } from "../support/index.ts";
import type { ServiceContext } from "./context.ts";
import type { Prunes } from "./prunes.ts";
import type { RunFactory } from "./run-factory.ts";

const notFound = (message: string) => new StackdError(message, { kind: "not-found" });
const conflict = (message: string) => new StackdError(message, { kind: "conflict" });

/**
 * Approvals of manual stacks' previews: an approval applies exactly the
 * update plan the preview saved, and is refused at once when a newer commit
 * arrived. Whether the plan still holds (same state checkpoint, same steps
 * and inputs) is checked by the approved up itself, before it changes
 * anything (see runStack).
 */
export class Approvals {
  private readonly ctx: ServiceContext;
  private readonly runs: RunFactory;
  private readonly prunes: Prunes;
  private readonly sync: () => Promise<unknown>;

  constructor(ctx: ServiceContext, runs: RunFactory, prunes: Prunes, sync: () => Promise<unknown>) {
    this.ctx = ctx;
    this.runs = runs;
    this.prunes = prunes;
    this.sync = sync;
  }

  /** Queues the up of an approved preview; throws (not-found, conflict) when it no longer holds. */
  async approve(runId: string, by: string): Promise<Run> {
    const { ledger } = this.ctx;
    const run = await ledger.runs.get(runId);
    if (!run) throw notFound(`no run ${runId}`);
    if (run.status !== "awaiting_approval") throw conflict(`run ${runId} is ${run.status}, not awaiting approval`);
    await this.sync().catch(() => {});
    const current = (await ledger.runs.get(runId))!;
    const head = this.ctx.head();
    if (run.trigger === "prune") {
      // A prune's preview is of a stack the branch no longer declares: its destroy is bound to the state it saw.
      await ledger.approvals.approve(runId, by);
      return this.prunes.approved(current, by);
    }
    if (run.trigger === "rollback") {
      // A rollback's preview is not of the head: it holds while the stack stays pinned at its revision.
      const pin = (await ledger.stacks.get(run.stack))?.pinned;
      if (pin?.revision !== run.revision) {
        if (current.status === "awaiting_approval") await ledger.approvals.supersede(runId, "the stack is no longer pinned at this revision");
        throw conflict(`${run.stack} is no longer pinned at ${run.revision.slice(0, 12)}: this rollback's preview no longer applies`);
      }
    } else if (head && head.revision !== run.revision) {
      if (current.status === "awaiting_approval") await ledger.approvals.supersede(runId, `a newer commit ${head.revision.slice(0, 12)} arrived`);
      throw conflict(`a newer commit ${head.revision.slice(0, 12)} arrived after this preview of ${run.revision.slice(0, 12)}; approve its preview instead`);
    }
    const entry = this.ctx.entries().find((e) => `${e.project}/${e.stack}` === run.stack);
    if (!entry) throw conflict(`${run.stack} no longer exists at the branch head`);
    await ledger.approvals.approve(runId, by);
    // A remediation preview refreshed first; its approved up must too.
    return this.runs.enqueue(entry, run.revision, run.trigger === "rollback" ? "rollback" : "api", { mode: "up", approvalOf: runId, refresh: run.trigger === "schedule", requestedBy: by });
  }

  /** Refuses a preview's plan for good: the stack waits for a new commit (or a reconcile) to preview again. */
  async reject(runId: string, by: string): Promise<Run> {
    const { ledger, log } = this.ctx;
    const run = await ledger.runs.get(runId);
    if (!run) throw notFound(`no run ${runId}`);
    if (run.status !== "awaiting_approval") throw conflict(`run ${runId} is ${run.status}, not awaiting approval`);
    await ledger.approvals.reject(runId, by);
    log.info({ run: runId, stack: run.stack, by }, "preview rejected");
    return (await ledger.runs.get(runId))!;
  }
}
