import type { StackEntry } from "../catalog/index.ts";
import type { Run, Trigger } from "../ledger/index.ts";
import { affectedStacks } from "./affected.ts";
import { nameOf, type Head, type ServiceContext } from "./context.ts";
import type { Prunes } from "./prunes.ts";
import type { RunFactory } from "./run-factory.ts";

/** Runs whose revision counts as handled: a new run for the same revision is not queued. */
const SETTLED = new Set(["queued", "running", "succeeded", "failed", "blocked", "awaiting_approval", "approved", "cancelled"]);

/**
 * What a commit asks for: a run of every stack the head affects (compared
 * with each stack's applied revision) that has not been handled at this
 * revision; unaffected stacks are marked as at the head; commits in between
 * that touched a stack are recorded as skipped. Stacks the head no longer
 * declares are left to Prunes.
 */
export class Planner {
  private readonly ctx: ServiceContext;
  private readonly runs: RunFactory;
  private readonly prunes: Prunes;

  constructor(ctx: ServiceContext, runs: RunFactory, prunes: Prunes) {
    this.ctx = ctx;
    this.runs = runs;
    this.prunes = prunes;
  }

  /** Queues the head's runs; returns the stacks it queued. */
  async plan(head: Head, trigger: Trigger): Promise<string[]> {
    const { ledger, source } = this.ctx;
    const entries = this.ctx.entries();
    const { revision } = head;
    const todo: StackEntry[] = [];
    const byBase = new Map<string, StackEntry[]>();
    for (const e of entries) {
      const row = (await ledger.stacks.get(nameOf(e)))!;
      if (row.pinned) {
        // A rolled-back stack stays where it was put until a commit since then affects it.
        if (!(await this.pinEnds(e, row.pinned.head, revision))) continue;
        await ledger.stacks.pin(nameOf(e), null);
        this.ctx.log.info({ stack: nameOf(e), was: row.pinned.revision, revision }, "a new commit affects a pinned stack: it follows the branch again");
        if (!(await this.handled(nameOf(e), revision))) todo.push(e);
        continue;
      }
      if (row.appliedRevision === revision || (await this.handled(nameOf(e), revision))) continue;
      if (!row.appliedRevision) todo.push(e);
      else byBase.set(row.appliedRevision, [...(byBase.get(row.appliedRevision) ?? []), e]);
    }
    for (const [base, group] of byBase) {
      let affected: Set<string>;
      try {
        affected = affectedStacks(entries, this.ctx.settings(), await source.changedPaths(base, revision));
      } catch {
        // The applied revision is gone (force push): everything is affected.
        affected = new Set(group.map(nameOf));
      }
      for (const e of group) {
        if (affected.has(nameOf(e))) todo.push(e);
        else if (!(await this.ctx.busy(nameOf(e)))) await ledger.stacks.recordOutcome(nameOf(e), { applied: revision, failed: false, result: "succeeded" });
      }
    }
    const graph = todo.length > 0 ? await this.runs.graph() : undefined;
    for (const e of todo) {
      await ledger.stacks.resetFailures(nameOf(e));
      const run = await this.runs.enqueue(e, revision, trigger, { graph });
      const base = (await ledger.stacks.get(nameOf(e)))!.appliedRevision;
      if (base) await this.recordSkipped(e, base, run);
    }
    const pruned = await this.prunes.plan(head);
    return [...todo.map(nameOf), ...pruned];
  }

  /** Whether the commits since a stack was pinned (at head `since`) affect it; a lost revision counts as affecting. */
  private async pinEnds(entry: StackEntry, since: string, revision: string): Promise<boolean> {
    if (since === revision) return false;
    try {
      return affectedStacks(this.ctx.entries(), this.ctx.settings(), await this.ctx.source.changedPaths(since, revision)).has(nameOf(entry));
    } catch {
      return true;
    }
  }

  private async handled(stack: string, revision: string): Promise<boolean> {
    const last = await this.ctx.ledger.runs.latest(stack, revision);
    return !!last && SETTLED.has(last.status);
  }

  /**
   * Commits between the stack's applied revision and the head that touched
   * the stack but were never run on their own (they arrived together, or
   * while the stack was busy): recorded as skipped, so every revision is
   * accounted for.
   */
  private async recordSkipped(entry: StackEntry, base: string, headRun: Run): Promise<void> {
    const { ledger, source } = this.ctx;
    const name = nameOf(entry);
    const intermediates = (await source.commitsBetween(base, headRun.revision).catch(() => [] as string[])).slice(0, -1);
    const seen = new Set((await ledger.runs.list({ stack: name, limit: 200 })).map((r) => r.revision));
    for (const commit of intermediates) {
      if (seen.has(commit)) continue;
      const paths = await source.changedPaths(`${commit}^`, commit).catch(() => [] as string[]);
      if (!affectedStacks(this.ctx.entries(), this.ctx.settings(), paths).has(name)) continue;
      const run = await ledger.runs.create({ stack: name, revision: commit, kind: headRun.kind, trigger: headRun.trigger, status: "skipped" });
      await ledger.runs.setStatus(run.id, "skipped", `coalesced: superseded by ${headRun.id} at ${headRun.revision.slice(0, 12)}`);
    }
  }
}
