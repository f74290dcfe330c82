import { settingsFor } from "../catalog/index.ts";
import { buildGraph, resolveReference, type StackGraph } from "../graph/index.ts";
import type { StackRead } from "../ledger/index.ts";
import { nameOf, type ServiceContext, type StackJob } from "./context.ts";

/**
 * The graph of the stacks at the branch head: dependsOn from the head's
 * stackd.yaml merged with the StackReference reads the ledger recorded. Reads
 * are learned from every run's engine events, failed runs included.
 */
export class StackGraphs {
  private readonly ctx: ServiceContext;

  constructor(ctx: ServiceContext) {
    this.ctx = ctx;
  }

  async current(): Promise<StackGraph> {
    const reads = new Map((await this.ctx.ledger.stacks.list()).map((r) => [r.name, r.reads]));
    const settings = this.ctx.settings();
    return buildGraph(
      this.ctx.entries().map((e) => ({ name: nameOf(e), dependsOn: settingsFor(settings, e.project, e.stack).dependsOn, reads: reads.get(nameOf(e)) ?? [] })),
    );
  }

  /**
   * Records the stacks a run read. A run that completed saw every reference
   * its program makes, so its reads replace the old ones (a reference removed
   * from the program removes its edge); a failed run may have stopped early,
   * so what it saw is added. Returns the stacks it read that were not known.
   */
  async learn(job: StackJob, references: string[], complete: boolean): Promise<string[]> {
    const { ledger } = this.ctx;
    const managed = new Set(this.ctx.entries().map(nameOf));
    const before = (await ledger.stacks.get(job.stack))?.reads ?? [];
    const at = new Date().toISOString();
    const seen = new Map<string, StackRead>();
    for (const reference of references) {
      const stack = resolveReference(reference, job.entry, managed);
      if (stack && stack !== job.stack) seen.set(stack, { stack, reference, run: job.runId, at });
    }
    const reads = complete ? [...seen.values()] : [...before.filter((r) => !seen.has(r.stack)), ...seen.values()];
    const key = (rs: StackRead[]) => JSON.stringify(rs.map((r) => [r.stack, r.reference]).sort());
    if (key(reads) !== key(before)) await ledger.stacks.recordReads(job.stack, reads.sort((a, b) => a.stack.localeCompare(b.stack)));
    return [...seen.keys()].filter((s) => !before.some((r) => r.stack === s));
  }
}
