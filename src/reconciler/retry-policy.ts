import { STALL_AFTER } from "../ledger/index.ts";
import { nameOf, type ServiceContext } from "./context.ts";
import { followedRevision } from "./rollbacks.ts";
import type { RunFactory } from "./run-factory.ts";

const MAX_BACKOFF_MS = 3_600_000;

/**
 * Failed runs are retried with exponential backoff from the poll interval
 * (capped at an hour); after STALL_AFTER failures in a row the stack is
 * Stalled but still retried. A failure that retrying cannot fix (a role that
 * cannot be assumed) stalls at once.
 */
export class RetryPolicy {
  private readonly ctx: ServiceContext;
  private readonly runs: RunFactory;

  constructor(ctx: ServiceContext, runs: RunFactory) {
    this.ctx = ctx;
    this.runs = runs;
  }

  /** Records a failure on the stack and when it is tried again. */
  async recordFailure(stack: string, previousFailures: number, stall: boolean): Promise<void> {
    const failures = stall ? Math.max(previousFailures + 1, STALL_AFTER) : previousFailures + 1;
    const delay = Math.min(this.ctx.pollIntervalMs() * 2 ** (failures - 1), MAX_BACKOFF_MS);
    await this.ctx.ledger.stacks.recordOutcome(stack, { failed: true, failures, result: "failed", retryAt: new Date(Date.now() + delay).toISOString() });
    if (failures >= STALL_AFTER) this.ctx.log.warn({ stack, failures }, "stack stalled");
  }

  /** Failed stacks whose backoff has passed run again at the head (a pinned stack at its pin). */
  async retryDue(): Promise<void> {
    const head = this.ctx.head();
    if (!head) return;
    const now = Date.now();
    for (const e of this.ctx.entries()) {
      const row = await this.ctx.ledger.stacks.get(nameOf(e));
      if (!row?.retryAt || Date.parse(row.retryAt) > now || (await this.ctx.busy(row.name))) continue;
      await this.runs.enqueue(e, followedRevision(row, head), "retry");
    }
  }
}
