import { PgBoss, type Job } from "pg-boss";
import { z } from "zod";

/** The shared queue every replica takes runs from. */
const RUNS = "stackd-runs";
/** Each replica's own queue, for what only it can do (cancel a run it is running). */
const signalsQueue = (replica: string) => `stackd-replica-${replica}`;

/** A queued run as it travels between replicas: the ledger holds the rest. */
export const Dispatch = z.object({
  runId: z.string(),
  stack: z.string(),
  mode: z.enum(["apply", "preview", "up", "drift", "adopt", "destroy", "destroy-preview"]),
  refresh: z.boolean(),
  dependsOn: z.array(z.string()),
});
export type Dispatch = z.infer<typeof Dispatch>;

/** A request to the replica that runs a run. */
export const Signal = z.object({ cancel: z.string(), by: z.string() });
export type Signal = z.infer<typeof Signal>;

export interface RunQueueOptions {
  url: string;
  replica: string;
  applicationName: string;
  leaseSeconds: number;
}

/**
 * The work queue in PostgreSQL, through pg-boss. One queue of runs with the
 * `key_strict_fifo` policy keyed by stack: a stack's runs start one at a
 * time across every replica, in the order they were queued, while other
 * stacks go on. Each job carries a heartbeat of the lease's length: a
 * replica that dies mid-run stops beating, and pg-boss hands the job to a
 * live replica, which finds the run still marked running and takes it over.
 */
export class RunQueue {
  private readonly boss: PgBoss;
  private readonly o: RunQueueOptions;
  private started: Promise<void> | undefined;

  constructor(o: RunQueueOptions) {
    this.o = o;
    this.boss = new PgBoss({
      connectionString: o.url,
      application_name: o.applicationName,
      max: 3,
      // Expired heartbeats are noticed within a quarter of the lease.
      monitorIntervalSeconds: Math.max(2, Math.floor(o.leaseSeconds / 4)),
      superviseIntervalSeconds: Math.max(2, Math.floor(o.leaseSeconds / 4)),
      instanceName: o.applicationName,
      schedule: false,
    });
    // Connection trouble is retried by pg-boss itself; the service's log gets it from the ledger.
    this.boss.on("error", () => {});
  }

  /** Installs pg-boss's schema (under its own lock) and the queues, once. */
  start(): Promise<void> {
    this.started ??= (async () => {
      await this.boss.start();
      const existing = new Set((await this.boss.getQueues()).map((q) => q.name));
      if (!existing.has(RUNS)) {
        await this.boss
          .createQueue(RUNS, {
            policy: "key_strict_fifo",
            heartbeatSeconds: this.o.leaseSeconds,
            // A run's own time limits bound it; the queue's expiry must never cut one short.
            expireInSeconds: 86_400,
            // Retries happen only when a replica died holding the job: stackd's own retry policy handles failed runs.
            retryLimit: 1_000,
            retryDelay: 0,
            deleteAfterSeconds: 86_400,
          })
          .catch((err) => {
            // Another replica created it first.
            if (!/exist/i.test(String(err))) throw err;
          });
      }
      await this.boss.createQueue(signalsQueue(this.o.replica), { retryLimit: 0, deleteAfterSeconds: 3_600 });
    })();
    return this.started;
  }

  /** Queues a run; `delaySeconds` holds it back (a dependency is still busy). */
  async send(d: Dispatch, delaySeconds = 0): Promise<void> {
    await this.start();
    await this.boss.send(RUNS, d, { singletonKey: d.stack, ...(delaySeconds > 0 ? { startAfter: delaySeconds } : {}) });
  }

  /** Runs of a stack waiting on the queue, not yet taken. */
  async waiting(stack: string): Promise<{ job: string; dispatch: Dispatch }[]> {
    await this.start();
    const jobs = await this.boss.findJobs<Dispatch>(RUNS, { key: stack, queued: true });
    return jobs.flatMap((j) => {
      const parsed = Dispatch.safeParse(j.data);
      return parsed.success ? [{ job: j.id, dispatch: parsed.data }] : [];
    });
  }

  /** Takes waiting runs off the queue. */
  async withdraw(jobs: string[]): Promise<void> {
    if (jobs.length > 0) await this.boss.cancel(RUNS, jobs);
  }

  /**
   * Takes runs with at most `concurrency` at once; `handle` gets each one and
   * whether an earlier attempt at it was cut off (its replica died). The
   * handler settles every run itself, so the job always completes.
   */
  async work(concurrency: number, handle: (d: Dispatch, retried: boolean) => Promise<void>): Promise<void> {
    await this.start();
    await this.boss.work<Dispatch>(RUNS, { localConcurrency: Math.max(1, concurrency), batchSize: 1, pollingIntervalSeconds: 1 }, async (jobs: Job<Dispatch>[]) => {
      for (const job of jobs) await handle(Dispatch.parse(job.data), job.retryCount > 0);
    });
  }

  /** Receives the signals sent to this replica. */
  async onSignal(handle: (s: Signal) => void): Promise<void> {
    await this.start();
    await this.boss.work<Signal>(signalsQueue(this.o.replica), { pollingIntervalSeconds: 1 }, async (jobs) => {
      for (const job of jobs) {
        const parsed = Signal.safeParse(job.data);
        if (parsed.success) handle(parsed.data);
      }
    });
  }

  /** Sends a signal to one replica. */
  async signal(replica: string, s: Signal): Promise<void> {
    await this.start();
    await this.boss.send(signalsQueue(replica), s);
  }

  /** Takes no more runs; the ones in hand go on. */
  async stopTaking(): Promise<void> {
    if (!this.started) return;
    await this.boss.offWork(RUNS, { wait: false }).catch(() => {});
  }

  /** Ends the queue's connections once the runs in hand have settled; this replica's signal queue goes with it. */
  async stop(): Promise<void> {
    if (!this.started) return;
    await this.boss.deleteQueue(signalsQueue(this.o.replica)).catch(() => {});
    await this.boss.stop({ graceful: true, close: true, timeout: 10_000 });
  }

  /** A dead replica's signal queue, removed by the replica that noticed. */
  async forget(replica: string): Promise<void> {
    await this.boss.deleteQueue(signalsQueue(replica)).catch(() => {});
  }
}
