import { discoverStacks, settingsFor, type StackEntry } from "../catalog/index.ts";
import type { Run, StackRow } from "../ledger/index.ts";
import { StackdError, messageOf } from "../support/index.ts";
import { nameOf, type Head, type ServiceContext } from "./context.ts";
import type { RunFactory } from "./run-factory.ts";

/** Runs of a prune that are still under way: another is not queued beside them. */
const UNDER_WAY = new Set(["queued", "running", "awaiting_approval", "approved"]);

/**
 * Stacks whose Pulumi.<stack>.yaml left the branch. Each is marked orphaned
 * (its status says so, with how many resources it still holds); where
 * stackd.yaml's `prune` covers it, it is destroyed from the state stackd
 * holds, with its program as of its last applied revision, then removed
 * from the backend and forgotten by the ledger (its runs stay). A manual
 * stack's destroy is previewed first and waits for an approval bound to the
 * state it was previewed against.
 */
export class Prunes {
  private readonly ctx: ServiceContext;
  private readonly runs: RunFactory;
  /** The head each stack's prune was last tried at: a failed or rejected prune is tried again on the next commit. */
  private readonly tried = new Map<string, string>();

  constructor(ctx: ServiceContext, runs: RunFactory) {
    this.ctx = ctx;
    this.runs = runs;
  }

  /** Marks the head's orphans and queues the destroys prune asks for; returns the stacks queued. */
  async plan(head: Head): Promise<string[]> {
    const { ledger, log } = this.ctx;
    const declared = new Set(this.ctx.entries().map(nameOf));
    const at = new Date().toISOString();
    const queued: string[] = [];
    for (const row of await ledger.stacks.list()) {
      if (declared.has(row.name)) continue;
      if (!row.orphanedAt) log.warn({ stack: row.name, resources: row.resourceCount, revision: head.revision }, "stack file left the branch: orphaned");
      await ledger.stacks.markOrphaned(row.name, at);
      const s = settingsFor(this.ctx.settings(), row.project, row.stack);
      if (!s.prune || this.tried.get(row.name) === head.revision || (await this.underWay(row.name))) continue;
      this.tried.set(row.name, head.revision);
      try {
        const run = await this.prune(row, s.apply === "manual");
        if (run) queued.push(row.name);
      } catch (err) {
        log.error({ stack: row.name, err: messageOf(err) }, "cannot prune the stack");
      }
    }
    return queued;
  }

  /** Queues the destroy (a manual stack: its preview) at the stack's last applied revision; a stack never run is only forgotten. */
  private async prune(row: StackRow, manual: boolean): Promise<Run | null> {
    const { ledger, log } = this.ctx;
    const revision = row.appliedRevision ?? (await ledger.runs.list({ stack: row.name, limit: 1 }))[0]?.revision;
    if (!revision) {
      await ledger.stacks.remove(row.name);
      log.info({ stack: row.name }, "pruned: never run, nothing to destroy");
      return null;
    }
    const entry = await this.entryAt(row.name, revision);
    const run = await this.runs.enqueue(entry, revision, "prune", { mode: manual ? "destroy-preview" : "destroy" });
    log.info({ run: run.id, stack: row.name, revision, manual }, manual ? "prune previewed: its destroy waits for an approval" : "pruning: destroying the stack");
    return run;
  }

  /** The stack as a revision declares it: what its destroy runs with. */
  async entryAt(name: string, revision: string): Promise<StackEntry> {
    const checkout = await this.ctx.source.checkout(revision);
    const entry = discoverStacks(checkout).find((e) => nameOf(e) === name);
    if (!entry) throw new StackdError(`${name} is not declared at ${revision.slice(0, 12)}, its last applied revision: its program cannot be found to destroy it`, { kind: "conflict", where: name });
    return entry;
  }

  /** Queues the destroy an approved prune preview showed (see Approvals). */
  async approved(run: Run, by: string): Promise<Run> {
    const row = await this.ctx.ledger.stacks.get(run.stack);
    if (!row?.orphanedAt) throw new StackdError(`${run.stack} is declared on the branch again: its prune no longer applies`, { kind: "conflict" });
    return this.runs.enqueue(await this.entryAt(run.stack, run.revision), run.revision, "prune", { mode: "destroy", approvalOf: run.id, requestedBy: by });
  }

  private async underWay(stack: string): Promise<boolean> {
    return (await this.ctx.ledger.runs.list({ stack, limit: 5 })).some((r) => r.trigger === "prune" && UNDER_WAY.has(r.status));
  }
}
