import { settingsFor, type StackEntry } from "../catalog/index.ts";
import { cycleOf, dependenciesOf, describeCycle, type StackGraph } from "../graph/index.ts";
import type { Run, RunKind, Trigger } from "../ledger/index.ts";
import { nameOf, type ServiceContext, type StackJob } from "./context.ts";
import type { StackGraphs } from "./stack-graph.ts";
import type { RunMode } from "./stack-run.ts";

/** How a run is to be made, beyond its stack, revision and trigger. */
export interface EnqueueOptions {
  mode?: RunMode;
  approvalOf?: string;
  /** Refresh before preview and up: drift remediation. */
  refresh?: boolean;
  /** The API token's name that asked for it. */
  requestedBy?: string;
  /** The run whose change of outputs made this one (a cascade). */
  cascadeOf?: string;
  /** The stack graph, when the caller queues many runs from one (a plan): read once, not per run. */
  graph?: StackGraph;
}

/**
 * Creates runs: records a queued run in the ledger, supersedes previews that
 * still await approval when a newer change arrives, and hands the job to the
 * queue (this process's, or the one replicas share) with what it needs to
 * execute, after every stack it depends on (declared or read through
 * StackReference). A stack in a dependency cycle is failed at once, naming
 * the cycle: queued, it would wait forever.
 */
export class RunFactory {
  private readonly ctx: ServiceContext;
  private readonly execute: (job: StackJob) => Promise<void>;
  private readonly graphs: StackGraphs;

  constructor(ctx: ServiceContext, graphs: StackGraphs, execute: (job: StackJob) => Promise<void>) {
    this.ctx = ctx;
    this.graphs = graphs;
    this.execute = execute;
  }

  /** The stack graph at the head, as runs are ordered by it. */
  graph(): Promise<StackGraph> {
    return this.graphs.current();
  }

  /** Queues a run of one stack at one revision; returns it as the ledger holds it. */
  async enqueue(entry: StackEntry, revision: string, trigger: Trigger, o: EnqueueOptions = {}): Promise<Run> {
    const { ledger, events, log } = this.ctx;
    const s = settingsFor(this.ctx.settings(), entry.project, entry.stack);
    const mode: RunMode = o.mode ?? (s.apply === "manual" ? "preview" : "apply");
    const kind: RunKind = mode === "preview" || mode === "destroy-preview" ? "preview" : mode === "drift" || mode === "adopt" ? "refresh" : mode === "destroy" ? "destroy" : "up";
    // A drift check reads; a stack being destroyed has left the graph: neither waits on other stacks.
    const standalone = mode === "drift" || mode === "destroy" || mode === "destroy-preview";
    const name = nameOf(entry);
    if (mode === "apply" || mode === "preview") {
      for (const r of await ledger.approvals.pending(name)) await ledger.approvals.supersede(r.id, `superseded by a newer run at ${revision.slice(0, 12)}`);
    }
    const graph = o.graph ?? (await this.graphs.current());
    const cycle = standalone ? undefined : cycleOf(graph, name);
    const run = await ledger.runs.create({ stack: name, revision, kind, trigger, approvalOf: o.approvalOf, requestedBy: o.requestedBy, cascadeOf: o.cascadeOf, status: cycle ? "failed" : "queued" });
    if (cycle) {
      const error = describeCycle(graph, cycle);
      await ledger.runs.setStatus(run.id, "failed", error);
      await ledger.stacks.recordOutcome(name, { failed: true, result: "failed" });
      log.error({ run: run.id, stack: name, cycle }, error);
      const failed = (await ledger.runs.get(run.id))!;
      events.emit("finished", failed, 0);
      return failed;
    }
    const job: StackJob = {
      stack: name,
      // Drift checks coalesce among themselves, never with the runs that change the stack.
      key: mode === "drift" ? `${name}#drift` : name,
      dependsOn: standalone ? [] : dependenciesOf(graph, name),
      runId: run.id,
      entry,
      revision,
      mode,
      refresh: o.refresh ?? false,
      trigger,
      run: () => this.execute(job),
    };
    await this.ctx.push(job);
    events.emit("queued", run);
    log.info({ run: run.id, stack: name, revision, kind, trigger }, "run queued");
    return run;
  }
}
