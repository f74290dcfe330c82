import fs from "node:fs";
import path from "node:path";
import type { Settings } from "../catalog/index.ts";
import type { RunCheckout } from "../source/index.ts";
import { messageOf } from "../support/index.ts";
import type { AbortReason, ServiceContext, StackJob } from "./context.ts";
import type { Cascades } from "./cascades.ts";
import type { HeadTracker } from "./head-tracker.ts";
import { sweepEngineTemp } from "./garbage.ts";
import { notifyRun } from "./notices.ts";
import type { Remediation } from "./remediation.ts";
import type { RetryPolicy } from "./retry-policy.ts";
import { followedRevision } from "./rollbacks.ts";
import type { RunFactory } from "./run-factory.ts";
import { brokerCredentials, runStack, type RunOptions } from "./stack-run.ts";

/** Where the update plan a preview run saves is kept: `<data dir>/plans/<run id>.json`. */
const planFile = (dataDir: string, runId: string): string => path.join(dataDir, "plans", `${runId}.json`);

/**
 * Runs one queued item through pulumi/ and records what came of it: the
 * run's result in the ledger, the stack's applied revision or failure
 * streak, and what follows (a drift check's episode, a retry, a notice).
 * Every run uses the settings of the revision it runs at.
 */
export class Executor {
  private readonly ctx: ServiceContext;
  private readonly heads: HeadTracker;
  private readonly retries: RetryPolicy;
  private readonly remediation: Remediation;
  private readonly runs: RunFactory;
  private readonly cascades: Cascades;

  constructor(ctx: ServiceContext, deps: { heads: HeadTracker; retries: RetryPolicy; remediation: Remediation; runs: RunFactory; cascades: Cascades }) {
    this.ctx = ctx;
    this.cascades = deps.cascades;
    this.heads = deps.heads;
    this.retries = deps.retries;
    this.remediation = deps.remediation;
    this.runs = deps.runs;
  }

  /**
   * A manual stack's preview saves its update plan; an approved up applies
   * exactly the plan its preview saved, made against the state it recorded;
   * an approved destroy, only onto the state its preview saw.
   */
  private async planOptions(job: StackJob): Promise<Pick<RunOptions, "savePlan" | "approvedPlan" | "approvedCheckpoint">> {
    const { ledger, opts } = this.ctx;
    if (job.mode === "preview") return { savePlan: planFile(opts.dataDir, job.runId) };
    const approvalOf = job.mode === "up" || job.mode === "destroy" ? (await ledger.runs.get(job.runId))?.approvalOf : null;
    const approved = approvalOf ? await ledger.runs.get(approvalOf) : undefined;
    // A manual stack's prune destroys only from the state its preview was made against.
    if (job.mode === "destroy") return approved?.checkpoint ? { approvedCheckpoint: approved.checkpoint } : {};
    if (!approved?.planDigest || !approved.checkpoint) return {};
    const file = planFile(opts.dataDir, approved.id);
    // Another replica may have made the preview: its plan comes from the database (its digest is checked before use).
    const kept = !fs.existsSync(file) && this.ctx.plans ? await this.ctx.plans.get(approved.id) : null;
    if (kept !== null) {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, kept, { mode: 0o600 });
    }
    return { approvedPlan: { file, digest: approved.planDigest, checkpoint: approved.checkpoint } };
  }

  /** Executes a job; never throws (a failure is the run's result). */
  async execute(job: StackJob): Promise<void> {
    const { ledger, events, log } = this.ctx;
    const row = (await ledger.stacks.get(job.stack))!;
    await ledger.runs.start(job.runId, row.stateVersion);
    events.emit("started", await ledger.runs.get(job.runId));
    const started = Date.now();
    const abort = new AbortController();
    this.ctx.aborts.set(job.runId, abort);
    let lease: RunCheckout | undefined;
    try {
      // Runs happen in reused directories, where the program's compiled TypeScript is still cached.
      lease = await this.ctx.source.lease(job.revision);
      const checkout = lease.dir;
      const settings = this.heads.settingsAt(job.revision, checkout);
      const out = await runStack(job.entry, {
        checkout,
        checkoutKey: lease.key,
        revision: job.revision,
        settings,
        credentials: brokerCredentials(this.ctx.broker, settings),
        backend: this.ctx.backend(),
        env: this.ctx.opts.env,
        installs: this.ctx.installs,
        signal: abort.signal,
        progress: (line: string) => log.info({ run: job.runId, stack: job.stack }, line),
        output: (chunk: string) => events.emit("output", job.runId, chunk),
      }, job.mode, { refresh: job.refresh, ...(await this.planOptions(job)) });
      const reason = abort.signal.aborted ? (abort.signal.reason as AbortReason) : undefined;
      if (reason) out.error = reason.kind === "cancel" ? `cancelled by ${reason.by} (${out.error})` : `interrupted: ${reason.kind === "fenced" ? reason.why : "the service stopped"} (${out.error})`;
      const status = reason
        ? reason.kind === "cancel"
          ? "cancelled"
          : "interrupted"
        : out.status === "failed" || out.status === "blocked"
          ? out.status
          : out.status === "previewed"
            ? "awaiting_approval"
            : "succeeded";
      // The plan is in the database before the preview shows as awaiting approval: an approval may
      // reach another replica as soon as it does, even if this one is gone by then.
      if (out.plan && job.mode === "preview" && this.ctx.plans) await this.ctx.plans.keep(job.runId, fs.readFileSync(planFile(this.ctx.opts.dataDir, job.runId), "utf8"));
      await ledger.runs.finish(job.runId, {
        status,
        changes: out.changes,
        resources: out.resources,
        policy: out.policy,
        error: out.error,
        log: out.log,
        runtime: out.runtime,
        plugins: out.plugins,
        plan: out.plan,
      });
      if (out.replan && !reason) await this.previewAgain(job);
      if (job.mode === "destroy" || job.mode === "destroy-preview") {
        await this.afterPrune(job, status, out.error ?? null, settings);
      } else if (job.mode === "drift") {
        // A drift check reads: it changes neither the applied revision nor the failure streak.
        if (status === "succeeded") await this.remediation.afterCheck(job, settings, out.resources);
        else if (status === "failed") notifyRun(this.ctx, settings, job, "run.failed", `drift check failed: ${out.error}`, { error: out.error });
      } else if (status === "succeeded") {
        const stateChanged = out.status === "applied" || out.status === "adopted";
        // A run at an older revision (a remediation) leaves a failing head's streak and retry alone.
        const head = this.ctx.head();
        const keepFailures = row.failures > 0 && !!head && job.revision !== head.revision;
        await ledger.stacks.recordOutcome(job.stack, { applied: job.revision, stateChanged, failed: false, keepFailures, result: "succeeded" });
      } else if (status === "failed") {
        notifyRun(this.ctx, settings, job, "run.failed", `${job.mode} failed: ${out.error}`, { error: out.error });
        await this.retries.recordFailure(job.stack, row.failures, out.stall ?? false);
      } else if (status === "blocked") {
        // Policies give the same verdict on a retry: only a new commit unblocks the stack.
        await ledger.stacks.recordOutcome(job.stack, { failed: false, result: "blocked" });
      }
      if (!reason) await this.cascades.afterRun(job, status, out, row).catch((err) => log.warn({ run: job.runId, stack: job.stack, err: messageOf(err) }, "cannot follow the run through the stack graph"));
      log.info({ run: job.runId, stack: job.stack, status, error: out.error, plan: out.plan?.digest }, "run finished");
    } catch (err) {
      await ledger.runs.setStatus(job.runId, "failed", messageOf(err));
    } finally {
      lease?.release();
      this.ctx.aborts.delete(job.runId);
      // An operation that was ended leaves the Automation API's event log behind.
      sweepEngineTemp();
      events.emit("finished", (await ledger.runs.get(job.runId))!, (Date.now() - started) / 1000);
    }
  }

  /**
   * A destroyed stack is removed from the ledger's stacks (its runs stay); a
   * failed prune is not retried (the next commit tries again, see Prunes).
   */
  private async afterPrune(job: StackJob, status: string, error: string | null, settings: Settings): Promise<void> {
    const { ledger, log } = this.ctx;
    if (job.mode === "destroy" && status === "succeeded") {
      await ledger.stacks.remove(job.stack);
      log.info({ run: job.runId, stack: job.stack }, "pruned: destroyed and removed");
    } else if (status === "failed") {
      notifyRun(this.ctx, settings, job, "run.failed", `prune failed: ${error}`, { error });
    }
  }

  /**
   * An approved plan that no longer holds is replaced by a new preview
   * awaiting approval: at the head (a pinned stack's pin), or for a prune's
   * destroy, of the destroy again at the same revision.
   */
  private async previewAgain(job: StackJob): Promise<void> {
    if (job.mode === "destroy") {
      await this.runs.enqueue(job.entry, job.revision, "prune", { mode: "destroy-preview" });
      return;
    }
    const head = this.ctx.head();
    const entry = this.heads.find(job.stack);
    if (!head || !entry) return;
    await this.runs.enqueue(entry, followedRevision(await this.ctx.ledger.stacks.get(job.stack), head), job.trigger === "rollback" ? "rollback" : "retry", { mode: "preview" });
  }
}
