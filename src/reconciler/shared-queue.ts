import { discoverStacks, type StackEntry } from "../catalog/index.ts";
import type { Cluster, Dispatch } from "../cluster/index.ts";
import type { Run } from "../ledger/index.ts";
import { messageOf } from "../support/index.ts";
import { nameOf, type ServiceContext, type StackJob } from "./context.ts";
import type { Executor } from "./executor.ts";
import type { HeadTracker } from "./head-tracker.ts";
import type { Recovery } from "./recovery.ts";

/** How long a run waits before looking again at a dependency that is still busy. */
const DEPENDENCY_WAIT_SECONDS = 2;

/** Whether two runs of a stack coalesce: drift checks among themselves, changes among themselves. */
const sameLane = (a: Run, b: Run): boolean => (a.kind === "refresh") === (b.kind === "refresh");
const isCheck = (mode: Dispatch["mode"]): boolean => mode === "drift" || mode === "adopt";

/**
 * The runs of a replica that shares its queue with others (PostgreSQL and
 * pg-boss). A new run withdraws the stack's older waiting ones (coalescing,
 * as the in-process queue does). The queue starts a stack's runs one at a
 * time across the cluster; this takes each run it hands over, and before
 * running it: skips it when a newer run of the same stack is queued, holds
 * it back while a stack it depends on is busy, and claims it in the ledger
 * so no two replicas run it. A run that
 * comes back because its replica died is marked interrupted, its stack's
 * lock cleared, and run again here.
 */
export class SharedQueue {
  private readonly ctx: ServiceContext;
  private readonly cluster: Cluster;
  private readonly deps: { executor: Executor; heads: HeadTracker; recovery: Recovery };
  private readonly inHand = new Set<Promise<void>>();
  private stopping = false;

  constructor(ctx: ServiceContext, cluster: Cluster, deps: SharedQueue["deps"]) {
    this.ctx = ctx;
    this.cluster = cluster;
    this.deps = deps;
  }

  /**
   * Puts a queued run on the shared queue. Runs of the stack still waiting
   * in the same lane collapse to this newest one (as in one process), and
   * leave the queue, so the newest does not wait behind them.
   */
  async push(job: StackJob): Promise<void> {
    const { ledger, log } = this.ctx;
    const lane = isCheck(job.mode);
    const stale: string[] = [];
    for (const w of await this.cluster.queue.waiting(job.stack)) {
      if (isCheck(w.dispatch.mode) !== lane) continue;
      if (await ledger.runs.skipQueued(w.dispatch.runId, `coalesced: superseded by ${job.runId} at ${job.revision.slice(0, 12)}`)) {
        stale.push(w.job);
        log.info({ run: w.dispatch.runId, stack: job.stack, by: job.runId }, "run coalesced");
      }
    }
    await this.cluster.queue.withdraw(stale);
    await this.cluster.queue.send(toDispatch(job));
  }

  /** Takes runs, at most `parallelism` at once on this replica; listens for cancels of runs it holds. */
  async start(parallelism: number): Promise<void> {
    await this.cluster.queue.onSignal((s) => {
      const abort = this.ctx.aborts.get(s.cancel);
      if (!abort) return;
      this.ctx.log.info({ run: s.cancel, by: s.by }, "cancelling run (asked through another replica)");
      abort.abort({ kind: "cancel", by: s.by });
    });
    await this.cluster.queue.work(parallelism, (d, retried) => {
      const handled = this.handle(d, retried).catch((err) => this.ctx.log.error({ run: d.runId, stack: d.stack, err: messageOf(err) }, "queued run could not be handled"));
      this.inHand.add(handled);
      return handled.finally(() => this.inHand.delete(handled));
    });
  }

  /** How soon a run held back by a busy or silent replica is looked at again. */
  private get recheckSeconds(): number {
    return Math.max(2, Math.floor(this.cluster.leaseSeconds / 4));
  }

  /** Takes no more runs. */
  async stopTaking(): Promise<void> {
    this.stopping = true;
    await this.cluster.queue.stopTaking();
  }

  /** Resolves when the runs in hand have settled. */
  async idle(): Promise<void> {
    while (this.inHand.size > 0) await Promise.allSettled([...this.inHand]);
  }

  /** Whether the stack has a run queued or running anywhere in the cluster. */
  async busy(stack: string): Promise<boolean> {
    const { runs } = this.ctx.ledger;
    return (await runs.list({ stack, status: "running", limit: 1 })).length > 0 || (await runs.list({ stack, status: "queued", limit: 1 })).length > 0;
  }

  private async handle(d: Dispatch, retried: boolean): Promise<void> {
    const { ledger, log } = this.ctx;
    const run = await ledger.runs.get(d.runId);
    if (!run) return;
    // A job comes back for a running run only when the replica running it stopped beating (or seemed to).
    if (run.status === "running") return run.replica === this.cluster.id ? undefined : this.takeOver(run, d);
    // Interrupted, but its replica could not queue it again before the job came back.
    if (run.status === "interrupted" && retried && !(await this.newerRun(run))) return this.requeue(run, d, "its replica was interrupted", true);
    if (run.status !== "queued") return;
    if (this.stopping) {
      // Taken just as this replica stops: back on the queue for another.
      await this.cluster.queue.send(d);
      return;
    }
    const newer = await this.newerRun(run);
    if (newer) {
      if (await ledger.runs.skipQueued(run.id, `coalesced: superseded by ${newer.id} at ${newer.revision.slice(0, 12)}`)) log.info({ run: run.id, stack: run.stack, by: newer.id }, "run coalesced");
      return;
    }
    // The queue starts one run of a stack at a time; the ledger makes sure of it, should a heartbeat
    // have been lost (a dead replica's run comes back on its own job, which is taken over).
    if ((await ledger.runs.list({ stack: run.stack, status: "running", limit: 1 })).length > 0) {
      await this.cluster.queue.send(d, this.recheckSeconds);
      return;
    }
    for (const dep of d.dependsOn) {
      if (dep === d.stack || !(await this.busy(dep))) continue;
      await this.cluster.queue.send(d, DEPENDENCY_WAIT_SECONDS);
      return;
    }
    if (!(await ledger.runs.claim(run.id, this.cluster.id))) return;
    await this.execute(run, d);
  }

  /** A run of the same stack and lane queued after this one, if any. */
  private async newerRun(run: Run): Promise<Run | undefined> {
    // Newest first: the runs before this one in the list were queued after it.
    const queued = await this.ctx.ledger.runs.list({ stack: run.stack, status: "queued", limit: 50 });
    const at = queued.findIndex((r) => r.id === run.id);
    return queued.slice(0, at < 0 ? queued.length : at).find((r) => sameLane(r, run));
  }

  /** Runs a claimed run here; one this replica had to interrupt (it stops, or lost the database) goes back on the queue as a new run. */
  private async execute(run: Run, d: Dispatch): Promise<void> {
    const entry = await this.entryAt(run);
    if (!entry) {
      await this.ctx.ledger.runs.setStatus(run.id, "failed", `${run.stack} is not declared at ${run.revision.slice(0, 12)}`);
      return;
    }
    await this.deps.executor.execute({ ...fromDispatch(d, entry, run), run: async () => {} });
    const after = await this.ctx.ledger.runs.get(run.id);
    if (after?.status === "interrupted") await this.requeue(after, d, after.error ?? "interrupted");
  }

  /**
   * A run whose replica stopped beating: after the lease it is interrupted,
   * its stack's lock and pending operations are cleared, and it runs again here.
   */
  private async takeOver(run: Run, d: Dispatch): Promise<void> {
    const { ledger, log } = this.ctx;
    if (run.replica && (await this.cluster.alive(run.replica))) {
      // Its replica still beats (its beat and the job's are apart): look again shortly.
      await this.cluster.queue.send(d, this.recheckSeconds);
      return;
    }
    const who = run.replica ? await this.cluster.nameOf(run.replica) : "unknown";
    await this.cluster.reapDead();
    await ledger.runs.setStatus(run.id, "interrupted", `interrupted: replica ${who} stopped answering during the run (lease ${this.cluster.leaseSeconds}s)`);
    log.warn({ run: run.id, stack: run.stack, replica: who }, "taking over a run whose replica stopped answering");
    await this.deps.recovery.cleanStack(run.stack);
    await this.requeue(run, d, `replica ${who} stopped answering`, true);
  }

  /** A new run in place of an interrupted one: queued on the shared queue, or (`here`) run at once by this replica. */
  private async requeue(run: Run, d: Dispatch, why: string, here = false): Promise<void> {
    const { ledger, log } = this.ctx;
    const again = await ledger.runs.create({ stack: run.stack, revision: run.revision, kind: run.kind, trigger: "retry", approvalOf: run.approvalOf ?? undefined, requestedBy: run.requestedBy ?? undefined });
    log.info({ run: again.id, stack: run.stack, replaces: run.id, why }, "run queued again");
    this.ctx.events.emit("queued", again);
    const next = { ...d, runId: again.id };
    if (!here) return this.cluster.queue.send(next);
    if (await ledger.runs.claim(again.id, this.cluster.id)) await this.execute(again, next);
  }

  /** The stack as the run's revision declares it (fetched first when this replica has not seen that revision). */
  private async entryAt(run: Run): Promise<StackEntry | undefined> {
    const { heads } = this.deps;
    if (heads.head?.revision === run.revision) return heads.find(run.stack);
    await this.ctx.source.resolve(run.revision).catch(() => heads.fetch());
    const checkout = await this.ctx.source.checkout(run.revision);
    return discoverStacks(checkout).find((e) => nameOf(e) === run.stack);
  }
}

function toDispatch(job: StackJob): Dispatch {
  return { runId: job.runId, stack: job.stack, mode: job.mode, refresh: job.refresh, dependsOn: job.dependsOn };
}

function fromDispatch(d: Dispatch, entry: StackEntry, run: Run): Omit<StackJob, "run"> {
  return {
    stack: d.stack,
    key: d.mode === "drift" ? `${d.stack}#drift` : d.stack,
    dependsOn: d.dependsOn,
    runId: run.id,
    entry,
    revision: run.revision,
    mode: d.mode,
    refresh: d.refresh,
    trigger: run.trigger,
  };
}
