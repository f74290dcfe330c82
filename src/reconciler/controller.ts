import { EventEmitter } from "node:events";
import { hostname } from "node:os";
import { settingsFor, type StackSettings } from "../catalog/index.ts";
import { Cluster, type ReplicaRow, type RunningRun } from "../cluster/index.ts";
import { CredentialBroker, diagnose, type DoctorReport } from "../credentials/index.ts";
import { DriftScheduler, type Tick } from "../drift/index.ts";
import { openLedger, stackStatuses, type Ledger, type PreviewRecord, type Run, type StackStatus, type Trigger } from "../ledger/index.ts";
import { lastCascade, type GraphView } from "../graph/index.ts";
import { Notifier } from "../notify/index.ts";
import { resolveBackend, type BackendSettings } from "../pulumi/index.ts";
import { GitSource } from "../source/index.ts";
import { StackdError, messageOf, registerSecret } from "../support/index.ts";
import { Approvals } from "./approvals.ts";
import { nameOf, type AbortReason, type Head, type ServiceContext, type ServiceOptions, type StackJob } from "./context.ts";
import { cancelRun } from "./cancellation.ts";
import { Executor } from "./executor.ts";
import { collectGarbage, revisionsInUse, type GcReport } from "./garbage.ts";
import { HeadTracker } from "./head-tracker.ts";
import type { Logger } from "./logger.ts";
import { Planner } from "./planner.ts";
import { Prunes } from "./prunes.ts";
import { PullRequestPreviews, type PullRequest } from "./pull-requests.ts";
import { WorkQueue, type Job } from "./queue.ts";
import { Recovery } from "./recovery.ts";
import { Remediation } from "./remediation.ts";
import { RetryPolicy } from "./retry-policy.ts";
import { Rollbacks, followedRevision } from "./rollbacks.ts";
import { RunFactory } from "./run-factory.ts";
import { SharedQueue } from "./shared-queue.ts";
import { Cascades } from "./cascades.ts";
import { StackGraphs } from "./stack-graph.ts";
import { brokerCredentials } from "./stack-run.ts";

export type { ServiceOptions } from "./context.ts";

/**
 * The long-running reconciler, wired from collaborators with one job each:
 * the head tracker follows the branch, the planner decides what a commit
 * asks for, the run factory queues runs, the executor runs them, the retry
 * policy, remediation, approvals and recovery handle what follows. This
 * class only connects them and exposes what the API and CLI need.
 */
export class Controller {
  readonly ledger: Ledger;
  /**
   * What happens to runs, for the metrics and the dashboard: `queued`,
   * `started`, `finished` (run, seconds) and `updated` (an approval or
   * rejection) carry the run as the ledger holds it; `output` (run id,
   * chunk) the engine's output while it runs, unmasked; `head` a new head
   * taking effect.
   */
  readonly events = new EventEmitter();
  private readonly opts: ServiceOptions;
  private readonly log: Logger;
  private readonly source: GitSource;
  private backend: BackendSettings;
  private readonly queue: WorkQueue<StackJob | Job>;
  private readonly notifier: Notifier;
  private readonly broker: CredentialBroker;
  private readonly heads: HeadTracker;
  private readonly planner: Planner;
  private readonly retries: RetryPolicy;
  private readonly approvals: Approvals;
  private readonly recovery: Recovery;
  private readonly runs: RunFactory;
  private readonly graphs: StackGraphs;
  private readonly rollbacks: Rollbacks;
  private readonly pullRequests: PullRequestPreviews;
  private readonly scheduler: DriftScheduler;
  /** With a PostgreSQL ledger: this replica's membership, and the queue it shares. */
  private readonly cluster: Cluster | null;
  private readonly shared: SharedQueue | null;
  private readonly aborts = new Map<string, AbortController>();
  private doctorReport: DoctorReport | null = null;
  private readonly startedAt = new Date().toISOString();
  /** The last statuses derived, and the ledger version and head they were derived at. */
  private statuses: { key: string; statuses: StackStatus[] } | undefined;
  private syncing: Promise<unknown> = Promise.resolve();
  private pollTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private gcTimer: NodeJS.Timeout | undefined;
  private endGrace: () => void = () => {};
  /** A second signal came (perhaps before the stop reached its grace). */
  private hurried = false;

  constructor(opts: ServiceOptions) {
    this.opts = opts;
    this.log = opts.logger;
    const cluster = (this.cluster = opts.database
      ? new Cluster({
          url: opts.database,
          ...opts.replica,
          onLeadership: (leading) => this.log.info({ replica: this.cluster?.name, leading }, leading ? "leading: this replica polls" : "no longer leading"),
          onLost: () => this.fence(),
        })
      : null);
    this.ledger = openLedger(opts.dataDir, opts.database, this.cluster ? `stackd ${this.cluster.name}` : undefined);
    this.source = new GitSource(opts.repo, opts.dataDir, opts.gitCredentials);
    this.backend = resolveBackend(opts.dataDir, opts.backend, { ...process.env, ...opts.env });
    this.notifier = new Notifier(opts.logger);
    const broker = (this.broker = new CredentialBroker({ ...process.env, ...opts.env }));
    registerSecret(opts.env?.AWS_SECRET_ACCESS_KEY ?? process.env.AWS_SECRET_ACCESS_KEY);
    registerSecret(opts.env?.AWS_SESSION_TOKEN ?? process.env.AWS_SESSION_TOKEN);
    this.queue = new WorkQueue<StackJob | Job>(opts.parallelism ?? 2, (old, by) => {
      if (!("runId" in old) || !("runId" in by)) return;
      void this.ledger.runs.setStatus(old.runId, "skipped", `coalesced: superseded by ${by.runId} at ${by.revision.slice(0, 12)}`).catch((err) => this.log.warn({ run: old.runId, err: messageOf(err) }, "cannot record a coalesced run"));
      this.log.info({ run: old.runId, stack: old.stack, by: by.runId }, "run coalesced");
    });
    this.heads = new HeadTracker({ opts, source: this.source, ledger: this.ledger, log: this.log, onLoad: (head) => this.onNewHead(head) });
    const ctx: ServiceContext = {
      opts,
      ledger: this.ledger,
      source: this.source,
      log: this.log,
      queue: this.queue,
      push: async (job) => (this.shared ? this.shared.push(job) : this.queue.push(job)),
      busy: async (stack) => (this.shared ? this.shared.busy(stack) : this.queue.isBusy(stack)),
      plans: cluster ? { keep: (id, content) => cluster.keepPlan(id, content), get: (id) => cluster.planOf(id) } : null,
      broker,
      notifier: this.notifier,
      events: this.events,
      installs: new Map(),
      aborts: this.aborts,
      head: () => this.heads.head,
      settings: () => this.heads.settings,
      entries: () => this.heads.entries,
      backend: () => this.backend,
      pollIntervalMs: () => this.pollIntervalMs,
    };
    this.graphs = new StackGraphs(ctx);
    this.runs = new RunFactory(ctx, this.graphs, (job) => executor.execute(job));
    this.retries = new RetryPolicy(ctx, this.runs);
    const cascades = new Cascades(ctx, { graphs: this.graphs, runs: this.runs, heads: this.heads });
    const executor = new Executor(ctx, { heads: this.heads, retries: this.retries, remediation: new Remediation(ctx, this.runs), runs: this.runs, cascades });
    const prunes = new Prunes(ctx, this.runs);
    this.planner = new Planner(ctx, this.runs, prunes);
    this.rollbacks = new Rollbacks(ctx, { runs: this.runs, heads: this.heads });
    this.approvals = new Approvals(ctx, this.runs, prunes, () => this.sync("api"));
    this.recovery = new Recovery(ctx);
    this.shared = this.cluster ? new SharedQueue(ctx, this.cluster, { executor, heads: this.heads, recovery: this.recovery }) : null;
    this.scheduler = new DriftScheduler((stacks, tick) => void this.onDriftTick(stacks, tick));
    this.pullRequests = new PullRequestPreviews({
      ledger: this.ledger,
      source: this.source,
      queue: (job) => this.queue.push(job),
      log: this.log,
      forksAllowed: () => this.heads.settings.previews.forks,
      github: opts.github,
      context: (plan, progress) => ({
        checkout: plan.checkout,
        revision: plan.head,
        settings: plan.settings,
        backend: this.backend,
        env: this.opts.env,
        installs: ctx.installs,
        credentials: brokerCredentials(broker, plan.settings),
        progress,
      }),
    });
  }

  /** Seconds between polls: --poll-interval, else stackd.yaml's pollInterval. */
  get pollIntervalMs(): number {
    return this.opts.pollIntervalMs ?? this.heads.settings.pollInterval;
  }

  /** The repository watched, as given (credentials masked by the API). */
  get repo(): string {
    return this.source.repo;
  }

  /** Why the last fetch or poll failed, if it did. */
  get lastSyncError(): string | null {
    return this.heads.lastSyncError;
  }

  /** A new head's settings take effect: backend, parallelism, drift schedules; old worktrees go. */
  private onNewHead(head: Head): void {
    const settings = this.heads.settings;
    void revisionsInUse(this.ledger, head.revision)
      .then((inUse) => this.source.pruneWorktrees(inUse))
      .catch((err) => this.log.warn({ err: messageOf(err) }, "worktree prune failed"));
    if (!this.opts.backend && settings.backend) this.backend = resolveBackend(this.opts.dataDir, settings.backend, { ...process.env, ...this.opts.env });
    this.queue.setParallelism(this.opts.parallelism ?? settings.parallelism);
    this.scheduler.update(new Map(this.heads.entries.map((e) => [nameOf(e), settingsFor(settings, e.project, e.stack).drift])));
    this.events.emit("head", head);
  }

  /** A drift schedule fired: every replica's croner fires it, the first to claim the tick checks its stacks. */
  private async onDriftTick(stacks: string[], tick: Tick): Promise<void> {
    if (this.stopping) return;
    if (this.cluster && !(await this.cluster.claimTick(`drift ${tick.pattern}`, tick.at).catch(() => false))) return;
    for (const stack of stacks) this.checkDrift(stack, "schedule").catch(() => {});
  }

  /**
   * Recovers from a crash, catches up with the branch, then polls; collects
   * garbage daily. A replica joins the cluster first, and takes runs from
   * the shared queue once it has the head.
   */
  async start(): Promise<void> {
    if (this.cluster) {
      await this.ledger.version();
      await this.cluster.join();
    }
    await this.recovery.afterCrash(!!this.cluster);
    await this.sync("poll").catch(() => {});
    await this.shared?.start(this.opts.parallelism ?? this.heads.settings.parallelism);
    void this.doctor().catch(() => {});
    this.schedulePoll();
    this.gcTimer = setInterval(() => void this.gc().catch((err) => this.log.warn({ err: messageOf(err) }, "garbage collection failed")), 86_400_000);
    this.gcTimer.unref();
  }

  /** Removes what nothing needs any more (see collectGarbage) and logs what it freed, and who asked. */
  async gc(by = "schedule"): Promise<GcReport> {
    const report = await collectGarbage({
      ledger: this.ledger,
      source: this.source,
      dataDir: this.opts.dataDir,
      head: this.heads.head?.revision ?? null,
      retention: this.heads.settings.retention,
    });
    this.log.info({ ...report, by }, "garbage collected");
    return report;
  }

  /** stackd's identity and a trial AssumeRole of every configured role; logged, and kept for the API. */
  async doctor(): Promise<DoctorReport> {
    const stacks = this.heads.entries.map((e) => ({ name: nameOf(e), roles: settingsFor(this.heads.settings, e.project, e.stack).roles }));
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

  /**
   * The cheap check: one ls-remote; a fetch only when the branch moved.
   * Also starts due retries. Of replicas, the leader plans; the others only
   * follow the head (for their status, probes and drift schedules).
   */
  async poll(): Promise<void> {
    const moved = await this.heads.remoteMoved();
    if (moved === null) return;
    if (this.cluster && !this.cluster.isLeader()) {
      if (moved) await this.heads.fetch();
      return;
    }
    if (!moved) return this.cluster ? this.cluster.exclusive("plan", () => this.retries.retryDue()) : this.retries.retryDue();
    await this.sync("poll");
  }

  /**
   * Fetches, and plans runs for the stacks the new head affects. Serialized:
   * one sync at a time; of replicas, one plans at a time (the others then
   * find the head's runs queued and queue nothing twice).
   */
  sync(trigger: Trigger): Promise<{ revision: string; queued: string[] }> {
    const next = this.syncing.then(async () => {
      try {
        // Replicas fetch inside the lock: whoever plans after another sees a head at least as new.
        const plan = async () => {
          const head = await this.heads.fetch();
          const queued = await this.planner.plan(head, trigger);
          await this.retries.retryDue();
          return { revision: head.revision, queued };
        };
        return this.cluster ? await this.cluster.exclusive("plan", plan) : await plan();
      } catch (err) {
        this.log.error({ err: this.heads.lastSyncError, trigger }, "sync failed");
        throw err;
      }
    });
    this.syncing = next.catch(() => {});
    return next;
  }

  /** Queues a read-only drift check of a stack at its last applied revision (`by`: the API caller). */
  async checkDrift(name: string, trigger: Trigger, by?: string): Promise<Run> {
    const entry = this.heads.find(name);
    if (!entry) throw new StackdError(`no stack named "${name}" at the branch head`, { kind: "not-found" });
    const row = await this.ledger.stacks.get(nameOf(entry));
    if (!row?.appliedRevision) throw new StackdError(`${nameOf(entry)} has never been applied: nothing to check for drift yet`, { kind: "conflict" });
    return this.runs.enqueue(entry, row.appliedRevision, trigger, { mode: "drift", requestedBy: by });
  }

  /** Previews a pull request's head (see PullRequestPreviews). */
  previewPullRequest(pr: PullRequest): Promise<PreviewRecord> {
    return this.pullRequests.preview(pr);
  }

  /**
   * A manual reconcile (or retry) of one stack at the branch head (a pinned
   * stack at its pin), fetched first. A name the head does not declare is answered at once, without a
   * fetch: unknown names cost nothing.
   */
  async reconcileStack(name: string, by?: string): Promise<Run> {
    const unknown = () => new StackdError(`no stack named "${name}" at the branch head`, { kind: "not-found" });
    if (this.heads.head && !this.heads.find(name)) throw unknown();
    await this.sync("api").catch(() => {});
    const entry = this.heads.find(name);
    const head = this.heads.head;
    if (!entry || !head) throw unknown();
    await this.ledger.stacks.resetFailures(nameOf(entry));
    // A pinned stack is reconciled where its rollback put it.
    return this.runs.enqueue(entry, followedRevision(await this.ledger.stacks.get(nameOf(entry)), head), "api", { requestedBy: by });
  }

  /** Applies a stack at an earlier applied revision and pins it there (see Rollbacks); `by` is recorded. */
  async rollback(name: string, to: string, by: string): Promise<Run> {
    await this.sync("api").catch(() => {});
    return this.rollbacks.rollback(name, to, by);
  }

  /** Ends a rollback's pin and reconciles the stack at the branch head. */
  async unpin(name: string, by: string): Promise<Run> {
    const stack = await this.rollbacks.unpin(name, by);
    return this.reconcileStack(stack, by);
  }

  /** Stops a queued or running run, recorded `cancelled` with who asked (see cancelRun). */
  cancel(runId: string, by: string): Promise<Run> {
    const cluster = this.cluster;
    const replicas = cluster ? { signal: (replica: string, s: { cancel: string; by: string }) => cluster.queue.signal(replica, s) } : undefined;
    return cancelRun({ ledger: this.ledger, queue: this.queue, aborts: this.aborts, log: this.log, replicas }, runId, by);
  }

  /** Applies exactly what a stored preview showed (see Approvals); `by` is recorded as the approver. */
  async approve(runId: string, by: string): Promise<Run> {
    const up = await this.approvals.approve(runId, by);
    this.events.emit("updated", await this.ledger.runs.get(runId));
    return up;
  }

  /** Refuses what a stored preview showed; `by` is recorded in the run's reason. */
  async reject(runId: string, by: string): Promise<Run> {
    const run = await this.approvals.reject(runId, by);
    this.events.emit("updated", run);
    return run;
  }

  /**
   * Every stack's sync, health and conditions; shared, not to be modified.
   * Derived anew only when the ledger or the head changed: clients poll it,
   * and deriving 1,000 stacks' statuses allocates megabytes each time.
   */
  async status(): Promise<StackStatus[]> {
    const head = this.heads.head?.revision ?? null;
    const key = `${await this.ledger.version()}@${head}`;
    if (this.statuses?.key !== key) this.statuses = { key, statuses: await stackStatuses(this.ledger, head) };
    return this.statuses.statuses;
  }

  /** The settings in force for a stack at the branch head; null when the head does not declare the stack. */
  stackSettings(name: string): StackSettings | null {
    const entry = this.heads.find(name);
    return entry ? settingsFor(this.heads.settings, entry.project, entry.stack) : null;
  }

  /**
   * The database stopped taking this replica's beats: the others will soon
   * take it for dead and run its stacks again, so what it runs stops now.
   */
  private fence(): void {
    if (this.aborts.size === 0) return;
    this.log.error({ replica: this.cluster?.name, runs: [...this.aborts.keys()] }, "lost the database: stopping the runs in hand before another replica takes them over");
    for (const a of this.aborts.values()) a.abort({ kind: "fenced", why: "this replica lost its database" } satisfies AbortReason);
  }

  /** Tells the cluster where this replica serves. */
  async listening(url: string): Promise<void> {
    await this.cluster?.setUrl(url).catch(() => {});
  }

  /**
   * The replicas serving this ledger and what each runs, for GET
   * /api/replicas; a single stackd lists itself.
   */
  async replicas(): Promise<{ leaseSeconds: number | null; replicas: (ReplicaRow & { running: RunningRun[] })[] }> {
    if (this.cluster) return { leaseSeconds: this.cluster.leaseSeconds, replicas: await this.cluster.replicas() };
    const running = (await this.ledger.runs.list({ status: "running", limit: 1000 })).map((r) => ({ run: r.id, stack: r.stack, kind: r.kind, startedAt: r.startedAt }));
    const self = { id: "local", name: hostname(), host: hostname(), pid: process.pid, url: null, leader: true, startedAt: this.startedAt, heartbeatAt: new Date().toISOString() };
    return { leaseSeconds: null, replicas: [{ ...self, running }] };
  }

  /** The stack graph at the head, with the last cascade: GET /api/graph and `stackd graph`. */
  async graph(): Promise<GraphView> {
    const [graph, runs] = await Promise.all([this.graphs.current(), this.ledger.runs.list({ limit: 500 })]);
    return { ...graph, lastCascade: lastCascade(runs) };
  }

  /** The service's own state for GET /api/stacks. */
  info() {
    return {
      repo: this.source.repo,
      branch: this.heads.head?.branch ?? null,
      head: this.heads.head?.revision ?? null,
      settingsError: this.heads.settingsError,
      syncError: this.heads.lastSyncError,
      queueDepth: this.queue.depth(),
      pollIntervalMs: this.pollIntervalMs,
      credentials: this.doctorReport,
      replica: this.cluster ? { id: this.cluster.id, name: this.cluster.name, leader: this.cluster.isLeader() } : null,
    };
  }

  /** A second stop signal: running operations are cancelled now instead of at the end of the grace. */
  hurry(): void {
    this.hurried = true;
    this.endGrace();
  }

  /** Jobs waiting or running. */
  queueDepth(): number {
    return this.queue.depth();
  }

  /** Runs waiting to start: this process's queue, or with replicas the runs queued across the cluster. */
  async waitingRuns(): Promise<number> {
    if (!this.cluster) return this.queue.depth();
    return (await this.ledger.runs.list({ status: "queued", limit: 100_000 })).length + this.queue.depth();
  }

  /**
   * Graceful stop: no new work; running operations get `graceMs` to finish,
   * then are cancelled and their stacks cleaned so nothing stays locked.
   */
  async stop(graceMs = 30_000): Promise<void> {
    this.stopping = true;
    clearTimeout(this.pollTimer);
    clearInterval(this.gcTimer);
    this.scheduler.stop();
    await this.shared?.stopTaking();
    const skipped: Promise<void>[] = [];
    for (const job of this.queue.stop()) {
      if ("runId" in job) skipped.push(this.ledger.runs.setStatus(job.runId, "skipped", "not run: the service stopped before it started"));
      else job.superseded?.();
    }
    await Promise.all(skipped);
    const idle = Promise.all([this.queue.idle(), this.shared?.idle()]).then(() => {});
    const graceOver = new Promise<boolean>((resolve) => {
      setTimeout(() => resolve(false), this.hurried ? 0 : graceMs).unref();
      this.endGrace = () => resolve(false);
    });
    const finished = await Promise.race([idle.then(() => true), graceOver]);
    if (!finished) {
      // Each run interrupts its engine, ends its processes and clears its stack's lock itself.
      for (const a of this.aborts.values()) a.abort({ kind: "stop" } satisfies AbortReason);
      await idle;
    }
    await this.syncing;
    await Promise.race([this.notifier.drain(), new Promise((r) => setTimeout(r, 5000).unref())]);
    await this.cluster?.leave();
    await this.ledger.close();
  }
}
