import type { StackRow } from "../ledger/index.ts";
import { dependentsOf } from "../graph/index.ts";
import type { ServiceContext, StackJob } from "./context.ts";
import type { HeadTracker } from "./head-tracker.ts";
import type { RunFactory } from "./run-factory.ts";
import type { StackGraphs } from "./stack-graph.ts";
import type { StackOutcome } from "./stack-run.ts";

/**
 * What a run teaches the graph and sets off through it: the stacks it read
 * become its dependencies; an up that changed the stack's outputs runs each
 * dependent again after it (a cascade), and one whose outputs stayed the same
 * runs none. A run that failed reading a stack it was not known to depend on
 * runs again, after that stack.
 */
export class Cascades {
  private readonly ctx: ServiceContext;
  private readonly graphs: StackGraphs;
  private readonly runs: RunFactory;
  private readonly heads: HeadTracker;

  constructor(ctx: ServiceContext, deps: { graphs: StackGraphs; runs: RunFactory; heads: HeadTracker }) {
    this.ctx = ctx;
    this.graphs = deps.graphs;
    this.runs = deps.runs;
    this.heads = deps.heads;
  }

  async afterRun(job: StackJob, status: string, out: StackOutcome, before: StackRow): Promise<void> {
    if (job.mode === "drift" || job.mode === "destroy" || job.mode === "destroy-preview") return;
    const { ledger, log } = this.ctx;
    const learned = await this.graphs.learn(job, out.references ?? [], status === "succeeded");
    if (learned.length > 0) log.info({ run: job.runId, stack: job.stack, reads: learned }, "dependency learned from a StackReference");
    if (status === "failed" && learned.length > 0) {
      // Converge: the first pass may read a stack before it has outputs; run again once it has.
      const run = await this.runs.enqueue(job.entry, job.revision, "retry");
      log.info({ run: run.id, stack: job.stack, after: learned }, "runs again after the stacks it reads");
      return;
    }
    if (status !== "succeeded" || !out.outputs) return;
    await ledger.stacks.recordOutputs(job.stack, out.outputs.digest, out.outputs.resources);
    if (out.outputs.digest === before.outputsDigest) return;
    const graph = await this.graphs.current();
    for (const dependent of dependentsOf(graph, job.stack)) {
      const entry = this.heads.find(dependent);
      if (!entry) continue;
      // A run still waiting starts after this one anyway, and reads the new outputs.
      if ((await ledger.runs.list({ stack: dependent, status: "queued", limit: 1 })).length > 0) continue;
      const row = await ledger.stacks.get(dependent);
      const revision = row?.appliedRevision ?? this.ctx.head()?.revision;
      if (!revision) continue;
      const run = await this.runs.enqueue(entry, revision, "cascade", { cascadeOf: job.runId });
      log.info({ run: run.id, stack: dependent, after: job.stack, by: job.runId }, "outputs changed: dependent runs again");
    }
  }
}
