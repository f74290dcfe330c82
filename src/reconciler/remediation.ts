import { settingsFor, type Settings } from "../catalog/index.ts";
import { recordDriftCheck } from "../drift/index.ts";
import type { StackReport } from "../report/index.ts";
import type { ServiceContext, StackJob } from "./context.ts";
import { notifyRun } from "./notices.ts";
import type { RunFactory } from "./run-factory.ts";

/**
 * What follows a drift check: the check folded into the stack's drift
 * episode, people told when an episode starts or ends, and the declared state
 * restored where the stack opted in (apply: up with refresh; adopt: take the
 * cloud's values, then preview what the code would change back).
 */
export class Remediation {
  private readonly ctx: ServiceContext;
  private readonly runs: RunFactory;

  constructor(ctx: ServiceContext, runs: RunFactory) {
    this.ctx = ctx;
    this.runs = runs;
  }

  /** Handles a successful drift check of `job`, run with `settings` (those of the revision it checked). */
  async afterCheck(job: StackJob, settings: Settings, resources: StackReport["resources"]): Promise<void> {
    const { ledger, log } = this.ctx;
    const drifted = resources.filter((r) => r.op === "drift" || r.op === "deleted");
    const { transition, record } = await recordDriftCheck(ledger.drift, job.stack, { revision: job.revision, runId: job.runId, drifted });
    log.info({ stack: job.stack, transition, drift: record?.id, resources: drifted.length }, "drift check");
    const counts = `${drifted.filter((r) => r.op === "drift").length} changed, ${drifted.filter((r) => r.op === "deleted").length} deleted out of band`;
    if (transition === "detected") notifyRun(this.ctx, settings, job, "drift.detected", `drift: ${counts}`, { resources: drifted, driftId: record!.id });
    if (transition === "resolved") notifyRun(this.ctx, settings, job, "drift.resolved", "drift resolved: the cloud matches the applied revision again", { driftId: record!.id });
    if (transition !== "detected" && transition !== "seen-again") return;
    const remediate = settingsFor(settings, job.entry.project, job.entry.stack).remediate;
    if (remediate === "off" || (await this.awaitingRemediation(job.stack, job.revision))) return;
    if (remediate === "adopt") await this.runs.enqueue(job.entry, job.revision, "schedule", { mode: "adopt" });
    else await this.runs.enqueue(job.entry, job.revision, "schedule", { refresh: true });
  }

  /** A remediation of this revision already waits for approval: don't stack another on it. */
  private async awaitingRemediation(stack: string, revision: string): Promise<boolean> {
    const last = await this.ctx.ledger.runs.latest(stack, revision);
    return !!last && last.status === "awaiting_approval";
  }
}
