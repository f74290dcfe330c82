// Several `stackd serve` replicas on one PostgreSQL database: who they are,
// which one leads, the queue they share and the locks they take.
import os from "node:os";
import pg from "pg";
import { newId } from "../support/index.ts";
import { Leadership } from "./leadership.ts";
import { ReplicaRegistry, type ReplicaRow, type RunningRun } from "./replicas.ts";
import { RunQueue } from "./run-queue.ts";

export { Dispatch, Signal, RunQueue } from "./run-queue.ts";
export type { ReplicaRow, RunningRun } from "./replicas.ts";

/** The lease's default and least length, in seconds (pg-boss's heartbeats need at least 10). */
export const DEFAULT_LEASE_SECONDS = 60;
export const MIN_LEASE_SECONDS = 10;

export interface ClusterOptions {
  url: string;
  /** How people name this replica (default host-pid). */
  name?: string;
  leaseSeconds?: number;
  onLeadership?: (leading: boolean) => void;
  /** The database stopped answering this replica's beats for most of a lease: stop the runs in hand. */
  onLost?: () => void;
}

/**
 * One replica's membership of the cluster: its row in the replicas table
 * (heartbeat), its try for the lead, the shared run queue, cluster-wide
 * locks, schedule ticks and the update plans previews saved. Connections: 2 for these, 3 for the queue, 1
 * for the lead.
 */
export class Cluster {
  readonly id: string;
  readonly name: string;
  readonly leaseSeconds: number;
  readonly queue: RunQueue;
  private readonly pool: pg.Pool;
  private readonly registry: ReplicaRegistry;
  private readonly leadership: Leadership;

  constructor(o: ClusterOptions) {
    this.name = o.name ?? `${os.hostname()}-${process.pid}`;
    this.id = newId("replica");
    this.leaseSeconds = Math.max(MIN_LEASE_SECONDS, o.leaseSeconds ?? DEFAULT_LEASE_SECONDS);
    const applicationName = `stackd ${this.name}`;
    // Bounded waits: on a dead network a query must fail, not hang past the lease.
    const waitMs = (this.leaseSeconds * 1000) / 4;
    this.pool = new pg.Pool({ connectionString: o.url, max: 2, application_name: applicationName, query_timeout: waitMs, connectionTimeoutMillis: waitMs, keepAlive: true });
    this.pool.on("error", () => {});
    this.registry = new ReplicaRegistry(this.pool, { id: this.id, name: this.name, host: os.hostname(), pid: process.pid, url: null }, this.leaseSeconds, () => o.onLost?.());
    this.queue = new RunQueue({ url: o.url, replica: this.id, applicationName, leaseSeconds: this.leaseSeconds });
    this.leadership = new Leadership({
      url: o.url,
      applicationName,
      retryMs: Math.min(5_000, (this.leaseSeconds * 1000) / 4),
      onChange: (leading) => {
        void this.registry.setLeader(leading).catch(() => {});
        o.onLeadership?.(leading);
      },
    });
  }

  /** Joins: the replica's row and heartbeat, the queue's schema, the try for the lead. The ledger must be migrated first. */
  async join(): Promise<void> {
    await this.registry.join();
    await this.queue.start();
    await this.leadership.start();
  }

  isLeader(): boolean {
    return this.leadership.isLeader;
  }

  setUrl(url: string): Promise<void> {
    return this.registry.setUrl(url);
  }

  /** Runs `fn` holding a cluster-wide lock named `name`: one replica at a time. */
  async exclusive<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      // Waiting for the lock may take as long as another replica plans: no query timeout for it.
      await client.query({ text: "SELECT pg_advisory_lock(hashtext($1))", values: [name], query_timeout: 86_400_000 } as pg.QueryConfig);
      try {
        return await fn();
      } finally {
        await client.query("SELECT pg_advisory_unlock(hashtext($1))", [name]);
      }
    } finally {
      client.release();
    }
  }

  /** Whether this replica is the first to fire a schedule's tick (every replica's croner fires it). */
  async claimTick(key: string, at: Date): Promise<boolean> {
    const { rowCount } = await this.pool.query("INSERT INTO stackd_ticks (key, at, replica) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", [key, at, this.id]);
    if (rowCount === 1) await this.pool.query("DELETE FROM stackd_ticks WHERE at < now() - interval '7 days'");
    return rowCount === 1;
  }

  /** Keeps the update plan a preview saved, for whichever replica applies it once approved. */
  async keepPlan(runId: string, content: string): Promise<void> {
    await this.pool.query("INSERT INTO stackd_plans (run_id, content) VALUES ($1, $2) ON CONFLICT (run_id) DO UPDATE SET content = $2", [runId, content]);
    await this.pool.query("DELETE FROM stackd_plans WHERE created_at < now() - interval '90 days'");
  }

  /** The update plan a preview saved; null when none was kept. */
  async planOf(runId: string): Promise<string | null> {
    const { rows } = await this.pool.query("SELECT content FROM stackd_plans WHERE run_id = $1", [runId]);
    return (rows[0]?.content as string | undefined) ?? null;
  }

  alive(replica: string): Promise<boolean> {
    return this.registry.alive(replica);
  }

  /** Live replicas with what each runs. */
  replicas(): Promise<(ReplicaRow & { running: RunningRun[] })[]> {
    return this.registry.live();
  }

  nameOf(replica: string): Promise<string> {
    return this.registry.nameOf(replica);
  }

  /** Replicas silent for a lease leave the table, and their signal queues go. */
  async reapDead(): Promise<void> {
    for (const id of await this.registry.reapDead()) await this.queue.forget(id);
  }

  /** Leaves: no lead, no row, no connections. Call after the runs in hand settled. */
  async leave(): Promise<void> {
    await this.leadership.stop();
    await this.queue.stop().catch(() => {});
    await this.registry.leave().catch(() => {});
    await this.pool.end();
  }
}
