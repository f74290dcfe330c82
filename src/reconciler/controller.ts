import { EventEmitter } from "node:events";
import path from "node:path";
import { discoverStacks, loadSettings, settingsFor, defaultSettings, type Settings, type StackEntry } from "../catalog/index.ts";
import { CredentialBroker, diagnose, type DoctorReport } from "../credentials/index.ts";
import { registerSecret } from "../support/index.ts";
import { DriftScheduler, recordDriftCheck } from "../drift/index.ts";
import { openLedger, STALL_AFTER, type Ledger, stackStatuses, type PreviewRecord, type Run, type RunKind, type StackStatus, type Trigger } from "../ledger/index.ts";
import { Notifier, type Notification, type NotificationTarget } from "../notify/index.ts";
import type { GitHubSettings } from "../previews/index.ts";
import { recoverStack, resolveBackend, type BackendSettings } from "../pulumi/index.ts";
import type { StackReport } from "../report/index.ts";
import { GitSource } from "../source/index.ts";
import { StackdError, messageOf } from "../support/index.ts";
import { affectedStacks } from "./affected.ts";
import { WorkQueue, type Job } from "./queue.ts";
import { brokerCredentials, runStack, type RunMode } from "./stack-run.ts";
import type { Logger } from "./logger.ts";
import { PullRequestPreviews, type PullRequest } from "./pull-requests.ts";


export interface ServiceOptions {
  repo: string;
  branch?: string;
  dataDir: string;
  backend?: string;
  env?: Record<string, string>;
  /** Overrides stackd.yaml's pollInterval. */
  pollIntervalMs?: number;
  /** Overrides stackd.yaml's parallelism. */
  parallelism?: number;
  /** A stackd.yaml outside the repository, used instead of the one in it. */
  settingsFile?: string;
  /** Report pull request previews to GitHub (check run + one comment per PR). */
  github?: GitHubSettings;
  logger: Logger;
}

interface StackJob extends Job {
  runId: string;
  entry: StackEntry;
  checkout: string;
  revision: string;
  mode: RunMode;
  refresh: boolean;
  trigger: Trigger;
}

interface EnqueueOptions {
  mode?: RunMode;
  approvalOf?: string;
  /** Refresh before preview and up: drift remediation. */
  refresh?: boolean;
}

export class ApprovalError extends Error {
  readonly status: 404 | 409;
  constructor(status: 404 | 409, message: string) {
    super(message);
    this.status = status;
  }
}

const MAX_BACKOFF_MS = 3_600_000;
/** Runs whose revision counts as handled: a new run for the same revision is not queued. */
const SETTLED = new Set(["queued", "running", "succeeded", "failed", "blocked", "awaiting_approval", "approved"]);

/**
 * The long-running reconciler: learns about new commits (poll or webhook),
 * decides which stacks they affect, queues runs, executes them and records
 * everything in the ledger.
 */
export class Controller {
  readonly ledger: Ledger;
  readonly events = new EventEmitter();
  private readonly source: GitSource;
  private backend: BackendSettings;
  private readonly log: Logger;
  private readonly opts: ServiceOptions;
  private settings: Settings = defaultSettings();
  private settingsError: string | null = null;
  private head: { branch: string; revision: string; checkout: string } | null = null;
  private entries: StackEntry[] = [];
  private readonly queue: WorkQueue<StackJob | Job>;
  private readonly notifier: Notifier;
  private readonly broker: CredentialBroker;
  private readonly pullRequests: PullRequestPreviews;
  private doctorReport: DoctorReport | null = null;
  private readonly scheduler: DriftScheduler;
  private readonly installs = new Map<string, Promise<unknown>>();
  private readonly aborts = new Map<string, AbortController>();
  private syncing: Promise<unknown> = Promise.resolve();
  private pollTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  lastSyncError: string | null = null;

  constructor(opts: ServiceOptions) {
    this.opts = opts;
    this.log = opts.logger;
    this.ledger = openLedger(opts.dataDir);
    this.source = new GitSource(opts.repo, opts.dataDir);
    this.backend = resolveBackend(opts.dataDir, opts.backend);
    this.notifier = new Notifier(opts.logger);
    this.broker = new CredentialBroker({ ...process.env, ...opts.env });
    registerSecret(opts.env?.AWS_SECRET_ACCESS_KEY ?? process.env.AWS_SECRET_ACCESS_KEY);
    registerSecret(opts.env?.AWS_SESSION_TOKEN ?? process.env.AWS_SESSION_TOKEN);
    this.scheduler = new DriftScheduler((stack) => {
      if (!this.stopping) this.checkDrift(stack, "schedule").catch(() => {});
    });
    this.pullRequests = new PullRequestPreviews({
      ledger: this.ledger,
      source: this.source,
      queue: (job) => this.queue.push(job),
      log: this.log,
      forksAllowed: () => this.settings.previews.forks,
      github: opts.github,
      context: (plan, progress) => ({
        checkout: plan.checkout,
        revision: plan.head,
        settings: plan.settings,
        backend: this.backend,
        env: this.opts.env,
        installs: this.installs,
        credentials: brokerCredentials(this.broker, plan.settings),
        progress,
      }),
    });
    this.queue = new WorkQueue<StackJob | Job>(opts.parallelism ?? 2, (old, by) => {
      if (!("runId" in old) || !("runId" in by)) return;
      this.ledger.runs.setStatus(old.runId, "skipped", `coalesced: superseded by ${by.runId} at ${by.revision.slice(0, 12)}`);
      this.log.info({ run: old.runId, stack: old.stack, by: by.runId }, "run coalesced");
    });
  }

  get pollIntervalMs(): number {
    return this.opts.pollIntervalMs ?? this.settings.pollInterval;
  }

  get repo(): string {
    return this.source.repo;
  }

  /** Recovers from a crash, catches up with the branch, then polls. */
  async start(): Promise<void> {
    await this.recover();
    await this.sync("poll").catch(() => {});
    void this.doctor().catch(() => {});
    this.schedulePoll();
  }

  /** stackd's identity and a trial AssumeRole of every configured role; logged, and kept for the API. */
  async doctor(): Promise<DoctorReport> {
    const stacks = this.entries.map((e) => ({ name: nameOf(e), roles: settingsFor(this.settings, e.project, e.stack).roles }));
    const report = await diagnose(this.broker, stacks);
    this.doctorReport = report;
    if (!report.identity.ok) this.log.error({ err: report.identity.reason }, "cloud identity");
    else this.log.info({ identity: report.identity.arn }, "cloud identity");
    for (const r of report.roles) {
      if (r.ok) this.log.info({ role: r.role, use: r.use, stacks: r.stacks }, "role can be assumed");
      else this.log.error({ role: r.role, use: r.use, stacks: r.stacks, err: r.reason }, "role cannot be assumed");
    }
    return report;
  }

  private schedulePoll(): void {
    if (this.stopping) return;
    this.pollTimer = setTimeout(async () => {
      await this.poll().catch(() => {});
      this.schedulePoll();
    }, this.pollIntervalMs);
    this.pollTimer.unref();
  }

  /** The cheap check: one ls-remote; a fetch only when the branch moved. Also starts due retries. */
  async poll(): Promise<void> {
    const branch = this.head?.branch ?? this.opts.branch ?? this.settings.branch;
    if (branch && this.head) {
      try {
        const remote = await this.source.remoteHead(branch);
        this.lastSyncError = null;
        if (remote === this.head.revision) {
          this.retryDue();
          return;
        }
      } catch (err) {
        this.lastSyncError = messageOf(err);
        this.log.warn({ err: this.lastSyncError }, "poll failed");
        return;
      }
    }
    await this.sync("poll");
  }

  /** Fetches, and plans runs for the stacks the new head affects. Serialized: one sync at a time. */
  sync(trigger: Trigger): Promise<{ revision: string; queued: string[] }> {
    const next = this.syncing.then(() => this.doSync(trigger));
    this.syncing = next.catch(() => {});
    return next;
  }

  private async doSync(trigger: Trigger): Promise<{ revision: string; queued: string[] }> {
    try {
      await this.source.fetch();
      const { branch, revision } = await this.source.head(this.opts.branch ?? this.settings.branch);
      this.lastSyncError = null;
      if (revision !== this.head?.revision) await this.load(branch, revision);
      const queued = await this.plan(trigger);
      this.retryDue();
      return { revision, queued };
    } catch (err) {
      this.lastSyncError = messageOf(err);
      this.log.error({ err: this.lastSyncError, trigger }, "sync failed");
      throw err;
    }
  }

  /** Checks the new head out and reads its settings and stacks. A bad stackd.yaml keeps the last good one. */
  private async load(branch: string, revision: string): Promise<void> {
    const checkout = await this.source.checkout(revision);
    const loaded = loadSettings(checkout, this.opts.settingsFile ? path.resolve(this.opts.settingsFile) : undefined);
    if (loaded.ok) {
      this.settings = loaded.settings;
      this.settingsError = null;
      if (!this.opts.backend && loaded.settings.backend) this.backend = resolveBackend(this.opts.dataDir, loaded.settings.backend);
      this.queue.setParallelism(this.opts.parallelism ?? this.settings.parallelism);
    } else {
      this.settingsError = `${loaded.error} (at ${revision.slice(0, 12)}; the last good settings stay in force)`;
      this.log.error({ err: this.settingsError }, "invalid stackd.yaml");
    }
    this.entries = discoverStacks(checkout);
    const schedules = new Map<string, string>();
    for (const e of this.entries) {
      const s = settingsFor(this.settings, e.project, e.stack);
      this.ledger.stacks.upsert({ name: nameOf(e), project: e.project, stack: e.stack, applyMode: s.apply });
      schedules.set(nameOf(e), s.drift);
    }
    this.scheduler.update(schedules);
    this.head = { branch, revision, checkout };
    this.ledger.meta.set("head", JSON.stringify({ branch, revision }));
    this.log.info({ branch, revision, stacks: this.entries.length }, "new head");
  }

  /** Queues a run for every stack the head affects and that has not been handled at this revision. */
  private async plan(trigger: Trigger): Promise<string[]> {
    if (!this.head) return [];
    const { revision } = this.head;
    const todo: StackEntry[] = [];
    const byBase = new Map<string, StackEntry[]>();
    for (const e of this.entries) {
      const row = this.ledger.stacks.get(nameOf(e))!;
      if (row.appliedRevision === revision || this.handled(nameOf(e), revision)) continue;
      if (!row.appliedRevision) todo.push(e);
      else byBase.set(row.appliedRevision, [...(byBase.get(row.appliedRevision) ?? []), e]);
    }
    for (const [base, group] of byBase) {
      let affected: Set<string>;
      try {
        affected = affectedStacks(this.entries, this.settings, await this.source.changedPaths(base, revision));
      } catch {
        // The applied revision is gone (force push): everything is affected.
        affected = new Set(group.map(nameOf));
      }
      for (const e of group) {
        if (affected.has(nameOf(e))) todo.push(e);
        else if (!this.queue.isBusy(nameOf(e))) this.ledger.stacks.recordOutcome(nameOf(e), { applied: revision, failed: false, result: "succeeded" });
      }
    }
    for (const e of todo) {
      this.ledger.stacks.resetFailures(nameOf(e));
      const run = this.enqueue(e, revision, trigger);
      const base = this.ledger.stacks.get(nameOf(e))!.appliedRevision;
      if (base) await this.recordSkipped(e, base, run);
    }
    return todo.map(nameOf);
  }

  /**
   * Commits between the stack's applied revision and the head that touched
   * the stack but were never run on their own (they arrived together, or
   * while the stack was busy): recorded as skipped, so every revision is
   * accounted for.
   */
  private async recordSkipped(entry: StackEntry, base: string, headRun: Run): Promise<void> {
    const name = nameOf(entry);
    const intermediates = (await this.source.commitsBetween(base, headRun.revision).catch(() => [] as string[])).slice(0, -1);
    const seen = new Set(this.ledger.runs.list({ stack: name, limit: 200 }).map((r) => r.revision));
    for (const commit of intermediates) {
      if (seen.has(commit)) continue;
      const paths = await this.source.changedPaths(`${commit}^`, commit).catch(() => [] as string[]);
      if (!affectedStacks(this.entries, this.settings, paths).has(name)) continue;
      const run = this.ledger.runs.create({ stack: name, revision: commit, kind: headRun.kind, trigger: headRun.trigger, status: "skipped" });
      this.ledger.runs.setStatus(run.id, "skipped", `coalesced: superseded by ${headRun.id} at ${headRun.revision.slice(0, 12)}`);
    }
  }

  private handled(stack: string, revision: string): boolean {
    const last = this.ledger.runs.latest(stack, revision);
    return !!last && SETTLED.has(last.status);
  }

  /** Failed stacks whose backoff has passed run again at the head. */
  private retryDue(): void {
    if (!this.head) return;
    const now = Date.now();
    for (const e of this.entries) {
      const row = this.ledger.stacks.get(nameOf(e));
      if (!row?.retryAt || Date.parse(row.retryAt) > now || this.queue.isBusy(row.name)) continue;
      this.enqueue(e, this.head.revision, "retry");
    }
  }

  private enqueue(entry: StackEntry, revision: string, trigger: Trigger, o: EnqueueOptions = {}): Run {
    const s = settingsFor(this.settings, entry.project, entry.stack);
    const runMode: RunMode = o.mode ?? (s.apply === "manual" ? "preview" : "apply");
    const kind: RunKind = runMode === "preview" ? "preview" : runMode === "drift" || runMode === "adopt" ? "refresh" : "up";
    const name = nameOf(entry);
    if (runMode === "apply" || runMode === "preview") {
      for (const r of this.ledger.runs.list({ stack: name, status: "awaiting_approval" })) {
        this.ledger.runs.setStatus(r.id, "superseded", `superseded by a newer run at ${revision.slice(0, 12)}`);
      }
    }
    const run = this.ledger.runs.create({ stack: name, revision, kind, trigger, approvalOf: o.approvalOf });
    const job: StackJob = {
      stack: name,
      // Drift checks coalesce among themselves, never with the runs that change the stack.
      key: runMode === "drift" ? `${name}#drift` : name,
      dependsOn: runMode === "drift" ? [] : s.dependsOn,
      runId: run.id,
      entry,
      checkout: revision === this.head?.revision ? this.head.checkout : "",
      revision,
      mode: runMode,
      refresh: o.refresh ?? false,
      trigger,
      run: () => this.execute(job),
    };
    this.queue.push(job);
    this.events.emit("queued", run);
    this.log.info({ run: run.id, stack: name, revision, kind, trigger }, "run queued");
    return run;
  }

  private async execute(job: StackJob): Promise<void> {
    const row = this.ledger.stacks.get(job.stack)!;
    this.ledger.runs.start(job.runId, row.stateVersion);
    this.events.emit("started", this.ledger.runs.get(job.runId));
    const started = Date.now();
    const abort = new AbortController();
    this.aborts.set(job.runId, abort);
    try {
      const checkout = job.checkout || (await this.source.checkout(job.revision));
      const ctx = {
        checkout,
        revision: job.revision,
        settings: this.settings,
        credentials: brokerCredentials(this.broker, this.settings),
        backend: this.backend,
        env: this.opts.env,
        installs: this.installs,
        signal: abort.signal,
        progress: (line: string) => this.log.info({ run: job.runId, stack: job.stack }, line),
      };
      const out = await runStack(job.entry, ctx, job.mode, { refresh: job.refresh });
      const interrupted = abort.signal.aborted;
      const status = interrupted
        ? "interrupted"
        : out.status === "failed" || out.status === "blocked"
          ? out.status
          : out.status === "previewed"
            ? "awaiting_approval"
            : "succeeded";
      this.ledger.runs.finish(job.runId, {
        status,
        changes: out.changes,
        resources: out.resources,
        policy: out.policy,
        error: out.error,
        log: out.log,
        runtime: out.runtime,
        plugins: out.plugins,
      });
      if (job.mode === "drift") {
        // A drift check reads: it changes neither the applied revision nor the failure streak.
        if (status === "succeeded") this.afterDriftCheck(job, out.resources);
        else if (status === "failed") this.notify(job, "run.failed", `drift check failed: ${out.error}`, { error: out.error });
      } else if (status === "succeeded") {
        const stateChanged = out.status === "applied" || out.status === "adopted";
        this.ledger.stacks.recordOutcome(job.stack, { applied: job.revision, stateChanged, failed: false, result: "succeeded" });
      } else if (status === "failed") {
        this.notify(job, "run.failed", `${job.mode} failed: ${out.error}`, { error: out.error });
        // A role that cannot be assumed will not be assumable on a retry: stall at once.
        const failures = out.stall ? Math.max(row.failures + 1, STALL_AFTER) : row.failures + 1;
        const delay = Math.min(this.pollIntervalMs * 2 ** (failures - 1), MAX_BACKOFF_MS);
        this.ledger.stacks.recordOutcome(job.stack, { failed: true, failures, result: "failed", retryAt: new Date(Date.now() + delay).toISOString() });
        if (failures >= STALL_AFTER) this.log.warn({ stack: job.stack, failures }, "stack stalled");
      } else if (status === "blocked") {
        // Policies give the same verdict on a retry: only a new commit unblocks the stack.
        this.ledger.stacks.recordOutcome(job.stack, { failed: false, result: "blocked" });
      }
      this.log.info({ run: job.runId, stack: job.stack, status, error: out.error }, "run finished");
    } catch (err) {
      this.ledger.runs.setStatus(job.runId, "failed", messageOf(err));
    } finally {
      this.aborts.delete(job.runId);
      const run = this.ledger.runs.get(job.runId)!;
      this.events.emit("finished", run, (Date.now() - started) / 1000);
    }
  }

  private notify(job: StackJob, event: Notification["event"], summary: string, extra: Partial<Notification> = {}): void {
    const targets: NotificationTarget[] = this.settings.notifications.map((n) => (typeof n === "string" ? { url: n } : n));
    if (targets.length === 0) return;
    this.notifier.send(targets, { event, stack: job.stack, revision: job.revision, runId: job.runId, summary, at: new Date().toISOString(), ...extra });
  }

  /** Dedupes the check into the stack's drift episode, alerts on changes of episode, and remediates where opted in. */
  private afterDriftCheck(job: StackJob, resources: StackReport["resources"]): void {
    const drifted = resources.filter((r) => r.op === "drift" || r.op === "deleted");
    const { transition, record } = recordDriftCheck(this.ledger.drift, job.stack, { revision: job.revision, runId: job.runId, drifted });
    this.log.info({ stack: job.stack, transition, drift: record?.id, resources: drifted.length }, "drift check");
    const counts = `${drifted.filter((r) => r.op === "drift").length} changed, ${drifted.filter((r) => r.op === "deleted").length} deleted out of band`;
    if (transition === "detected") this.notify(job, "drift.detected", `drift: ${counts}`, { resources: drifted, driftId: record!.id });
    if (transition === "resolved") this.notify(job, "drift.resolved", "drift resolved: the cloud matches the applied revision again", { driftId: record!.id });
    if (transition !== "detected" && transition !== "seen-again") return;
    const remediate = settingsFor(this.settings, job.entry.project, job.entry.stack).remediate;
    if (remediate === "off" || this.awaitingRemediation(job.stack, job.revision)) return;
    if (remediate === "adopt") this.enqueue(job.entry, job.revision, "schedule", { mode: "adopt" });
    else this.enqueue(job.entry, job.revision, "schedule", { refresh: true });
  }

  /** A remediation of this revision already waits for approval: don't stack another on it. */
  private awaitingRemediation(stack: string, revision: string): boolean {
    const last = this.ledger.runs.latest(stack, revision);
    return !!last && last.status === "awaiting_approval";
  }

  /** Queues a read-only drift check of a stack at its last applied revision. */
  async checkDrift(name: string, trigger: Trigger): Promise<Run> {
    const entry = this.entries.find((e) => nameOf(e) === name || e.stack === name);
    if (!entry) throw new StackdError(`no stack named "${name}" at the branch head`, { kind: "usage" });
    const row = this.ledger.stacks.get(nameOf(entry));
    if (!row?.appliedRevision) throw new StackdError(`${nameOf(entry)} has never been applied: nothing to check for drift yet`, { kind: "config" });
    return this.enqueue(entry, row.appliedRevision, trigger, { mode: "drift" });
  }

  /** Previews a pull request's head (see PullRequestPreviews). */
  previewPullRequest(pr: PullRequest): PreviewRecord {
    return this.pullRequests.preview(pr);
  }

  /** A manual reconcile (or retry) of one stack at the branch head. */
  async reconcileStack(name: string): Promise<Run> {
    await this.sync("api").catch(() => {});
    const entry = this.entries.find((e) => nameOf(e) === name || e.stack === name);
    if (!entry || !this.head) throw new StackdError(`no stack named "${name}" at the branch head`, { kind: "usage" });
    this.ledger.stacks.resetFailures(nameOf(entry));
    return this.enqueue(entry, this.head.revision, "api");
  }

  /**
   * Applies exactly what a stored preview showed: refused when a newer commit
   * arrived or the stack's state changed since the preview ran.
   */
  async approve(runId: string): Promise<Run> {
    const run = this.ledger.runs.get(runId);
    if (!run) throw new ApprovalError(404, `no run ${runId}`);
    if (run.status !== "awaiting_approval") throw new ApprovalError(409, `run ${runId} is ${run.status}, not awaiting approval`);
    await this.sync("api").catch(() => {});
    const current = this.ledger.runs.get(runId)!;
    if (this.head && this.head.revision !== run.revision) {
      if (current.status === "awaiting_approval") this.ledger.runs.setStatus(runId, "superseded", `a newer commit ${this.head.revision.slice(0, 12)} arrived`);
      throw new ApprovalError(409, `a newer commit ${this.head.revision.slice(0, 12)} arrived after this preview of ${run.revision.slice(0, 12)}; approve its preview instead`);
    }
    const row = this.ledger.stacks.get(run.stack);
    if (!row || row.stateVersion !== run.stateVersion) {
      throw new ApprovalError(409, `the state of ${run.stack} changed since this preview (version ${run.stateVersion} -> ${row?.stateVersion}); reconcile again`);
    }
    const entry = this.entries.find((e) => nameOf(e) === run.stack);
    if (!entry) throw new ApprovalError(409, `${run.stack} no longer exists at the branch head`);
    this.ledger.runs.setStatus(runId, "approved");
    // A remediation preview refreshed first; its approved up must too.
    return this.enqueue(entry, run.revision, "api", { mode: "up", approvalOf: runId, refresh: run.trigger === "schedule" });
  }

  status(): StackStatus[] {
    return stackStatuses(this.ledger, this.head?.revision ?? null);
  }

  info() {
    return {
      repo: this.source.repo,
      branch: this.head?.branch ?? null,
      head: this.head?.revision ?? null,
      settingsError: this.settingsError,
      syncError: this.lastSyncError,
      queueDepth: this.queue.depth(),
      pollIntervalMs: this.pollIntervalMs,
      credentials: this.doctorReport,
    };
  }

  queueDepth(): number {
    return this.queue.depth();
  }

  /** Runs a crash left running are interrupted; their stacks' pending operations are cleared. */
  private async recover(): Promise<void> {
    const interrupted = this.ledger.runs.interruptRunning("interrupted: the service stopped while this run was in progress");
    const stacks = [...new Set(interrupted.map((r) => r.stack))];
    for (const name of stacks) await this.cleanStack(name);
  }

  private async cleanStack(name: string): Promise<void> {
    const row = this.ledger.stacks.get(name);
    if (!row) return;
    const run = this.ledger.runs.list({ stack: name, limit: 1 })[0];
    try {
      const checkout = await this.source.checkout(run?.revision ?? row.appliedRevision ?? "HEAD");
      const entry = discoverStacks(checkout).find((e) => nameOf(e) === name);
      if (!entry) return;
      const cleared = await recoverStack({ workDir: path.join(checkout, entry.projectDir), stack: entry.stack, ...this.backend, env: this.opts.env });
      this.log.info({ stack: name, cleared }, "cleared interrupted operations");
    } catch (err) {
      this.log.error({ stack: name, err: messageOf(err) }, "could not clean up interrupted stack");
    }
  }

  /**
   * Graceful stop: no new work; running operations get `graceMs` to finish,
   * then are cancelled and their stacks cleaned so nothing stays locked.
   */
  async stop(graceMs = 30_000): Promise<void> {
    this.stopping = true;
    clearTimeout(this.pollTimer);
    this.scheduler.stop();
    for (const job of this.queue.stop()) {
      if ("runId" in job) this.ledger.runs.setStatus(job.runId, "skipped", "not run: the service stopped before it started");
      else job.superseded?.();
    }
    const idle = this.queue.idle();
    const finished = await Promise.race([idle.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), graceMs).unref())]);
    if (!finished) {
      const cancelled = [...this.aborts.keys()].map((id) => this.ledger.runs.get(id)?.stack).filter((s): s is string => !!s);
      for (const a of this.aborts.values()) a.abort();
      await idle;
      for (const name of new Set(cancelled)) await this.cleanStack(name);
    }
    await this.syncing;
    await Promise.race([this.notifier.drain(), new Promise((r) => setTimeout(r, 5000).unref())]);
    this.ledger.close();
  }
}

function nameOf(e: StackEntry): string {
  return `${e.project}/${e.stack}`;
}
