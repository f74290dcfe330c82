import path from "node:path";
import { discoverStacks } from "../catalog/index.ts";
import { endAbandonedGroups, recoverStack } from "../pulumi/index.ts";
import { messageOf } from "../support/index.ts";
import { nameOf, type ServiceContext } from "./context.ts";

/**
 * Clean-up after runs that did not end on their own: a crash's runs are
 * marked interrupted, and a stack whose run was cut off gets its lock and
 * pending operations cleared so the next run is not refused.
 */
export class Recovery {
  private readonly ctx: ServiceContext;

  constructor(ctx: ServiceContext) {
    this.ctx = ctx;
  }

  /**
   * At start: what a crash left running is ended, its runs are interrupted
   * and their stacks cleaned. A replica leaves the ledger's runs alone (other
   * replicas run them; a dead one's come back through the shared queue).
   */
  async afterCrash(replica: boolean): Promise<void> {
    const ended = endAbandonedGroups(this.ctx.backend().processGroups);
    if (ended > 0) this.ctx.log.warn({ processes: ended }, "ended processes a previous stackd left running");
    if (replica) return;
    const interrupted = await this.ctx.ledger.runs.interruptRunning("interrupted: the service stopped while this run was in progress");
    for (const name of new Set(interrupted.map((r) => r.stack))) await this.cleanStack(name);
  }

  /** Clears one stack's lock and pending operations, at the revision its last run used. */
  async cleanStack(name: string): Promise<void> {
    const { ledger, source, log } = this.ctx;
    const row = await ledger.stacks.get(name);
    if (!row) return;
    const run = (await ledger.runs.list({ stack: name, limit: 1 }))[0];
    try {
      const checkout = await source.checkout(run?.revision ?? row.appliedRevision ?? "HEAD");
      const entry = discoverStacks(checkout).find((e) => nameOf(e) === name);
      if (!entry) return;
      const cleared = await recoverStack({ workDir: path.join(checkout, entry.projectDir), stack: entry.stack, ...this.ctx.backend(), env: this.ctx.opts.env });
      log.info({ stack: name, cleared }, "cleared interrupted operations");
    } catch (err) {
      log.error({ stack: name, err: messageOf(err) }, "could not clean up interrupted stack");
    }
  }
}
