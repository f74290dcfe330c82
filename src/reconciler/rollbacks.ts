import type { Run, StackRow } from "../ledger/index.ts";
import { StackdError } from "../support/index.ts";
import { nameOf, type Head, type ServiceContext } from "./context.ts";
import type { HeadTracker } from "./head-tracker.ts";
import type { RunFactory } from "./run-factory.ts";

/** The revision a stack is meant to be at: its rollback's while pinned, else the branch head's. */
export function followedRevision(row: StackRow | undefined, head: Head): string {
  return row?.pinned?.revision ?? head.revision;
}

/**
 * Rollbacks: a stack applied again at a revision it was applied at before,
 * then pinned there, so that following the branch does not undo it. The pin
 * ends with an unpin, or when a new commit affects the stack (see Planner).
 * A manual stack's rollback is previewed and waits for an approval, like any
 * change of a manual stack.
 */
export class Rollbacks {
  private readonly ctx: ServiceContext;
  private readonly runs: RunFactory;
  private readonly heads: HeadTracker;

  constructor(ctx: ServiceContext, deps: { runs: RunFactory; heads: HeadTracker }) {
    this.ctx = ctx;
    this.runs = deps.runs;
    this.heads = deps.heads;
  }

  /** Applies `name` at the applied revision `to` names (a full or abbreviated sha) and pins it; `by` is recorded. */
  async rollback(name: string, to: string, by: string): Promise<Run> {
    const { ledger, log } = this.ctx;
    const entry = this.heads.find(name);
    const head = this.ctx.head();
    if (!entry || !head) throw new StackdError(`no stack named "${name}" at the branch head`, { kind: "not-found" });
    const stack = nameOf(entry);
    const wanted = to.trim().toLowerCase();
    if (!/^[0-9a-f]{4,40}$/.test(wanted)) throw new StackdError(`"${to}" is not a revision: give a commit sha (4 to 40 hex digits)`, { kind: "usage", where: "--to" });
    const applied = [...new Set((await ledger.runs.list({ stack, status: "succeeded", limit: 1000 })).filter((r) => r.kind === "up").map((r) => r.revision))];
    const matching = applied.filter((r) => r.startsWith(wanted));
    const known = applied.slice(0, 10).map((r) => r.slice(0, 12)).join(", ") || "none yet";
    if (matching.length === 0) throw new StackdError(`${stack} was never applied at ${to}: it can be rolled back to a revision it was applied at (newest first: ${known})`, { kind: "conflict" });
    if (matching.length > 1) throw new StackdError(`"${to}" names ${matching.length} applied revisions of ${stack} (${matching.map((r) => r.slice(0, 12)).join(", ")}): give more digits`, { kind: "usage", where: "--to" });
    const revision = matching[0]!;
    await ledger.stacks.pin(stack, { revision, by, at: new Date().toISOString(), head: head.revision });
    await ledger.stacks.resetFailures(stack);
    log.info({ stack, revision, by }, "rolled back: pinned until unpinned or a new commit affects the stack");
    return this.runs.enqueue(entry, revision, "rollback", { requestedBy: by });
  }

  /** Ends a stack's pin; it follows the branch again (the caller reconciles it at the head). */
  async unpin(name: string, by: string): Promise<string> {
    const { ledger, log } = this.ctx;
    const entry = this.heads.find(name);
    if (!entry) throw new StackdError(`no stack named "${name}" at the branch head`, { kind: "not-found" });
    const stack = nameOf(entry);
    const row = await ledger.stacks.get(stack);
    if (!row?.pinned) throw new StackdError(`${stack} is not pinned: it follows the branch`, { kind: "conflict" });
    await ledger.stacks.pin(stack, null);
    log.info({ stack, was: row.pinned.revision, by }, "unpinned: follows the branch again");
    return stack;
  }
}
