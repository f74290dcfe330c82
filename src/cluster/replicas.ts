import type pg from "pg";

/** A replica as the cluster knows it. */
export interface ReplicaRow {
  id: string;
  name: string;
  host: string;
  pid: number;
  url: string | null;
  leader: boolean;
  startedAt: string;
  heartbeatAt: string;
}

/** What a replica is running now. */
export interface RunningRun {
  run: string;
  stack: string;
  kind: string;
  startedAt: string | null;
}

const iso = (v: unknown): string => (v instanceof Date ? v.toISOString() : String(v));

/**
 * The replicas table: each live replica beats every quarter of the lease; a
 * replica whose beat is older than the lease is taken for dead. Times are the
 * database's, so replicas on different hosts never compare their own clocks.
 */
export class ReplicaRegistry {
  private readonly pool: pg.Pool;
  private readonly self: Omit<ReplicaRow, "startedAt" | "heartbeatAt" | "leader">;
  private readonly leaseSeconds: number;
  private timer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private lastBeat = Date.now();
  private lost = false;
  private readonly onLost: () => void;

  /**
   * `onLost` is called once no beat got through for half the lease: the
   * others take this replica for dead a lease after its last beat, and by
   * then what it ran must have stopped (an engine gets 10 s to stop
   * cleanly), or a stack would be applied twice at once. A beat that gets
   * through again ends the loss.
   */
  constructor(pool: pg.Pool, self: Omit<ReplicaRow, "startedAt" | "heartbeatAt" | "leader">, leaseSeconds: number, onLost: () => void) {
    this.pool = pool;
    this.self = self;
    this.leaseSeconds = leaseSeconds;
    this.onLost = onLost;
  }

  async join(): Promise<void> {
    const s = this.self;
    await this.pool.query("INSERT INTO stackd_replicas (id, name, host, pid, url, started_at, heartbeat_at) VALUES ($1, $2, $3, $4, $5, now(), now())", [s.id, s.name, s.host, s.pid, s.url]);
    this.lastBeat = Date.now();
    this.timer = setInterval(() => void this.beat().catch(() => {}), (this.leaseSeconds * 1000) / 4);
    this.timer.unref();
    // Apart from the beats: a beat that hangs on a dead network must not hide the loss.
    this.watchdog = setInterval(() => this.check(), 1000);
    this.watchdog.unref();
  }

  /** The URL this replica serves on, once it listens. */
  async setUrl(url: string): Promise<void> {
    this.self.url = url;
    await this.pool.query("UPDATE stackd_replicas SET url = $1 WHERE id = $2", [url, this.self.id]);
  }

  private check(): void {
    if (this.lost || Date.now() - this.lastBeat < (this.leaseSeconds * 1000) / 2) return;
    this.lost = true;
    this.onLost();
  }

  private async beat(): Promise<void> {
    // A row removed while this replica was taken for dead comes back with its next beat.
    const s = this.self;
    await this.pool.query(
      `INSERT INTO stackd_replicas (id, name, host, pid, url, started_at, heartbeat_at) VALUES ($1, $2, $3, $4, $5, now(), now())
       ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()`,
      [s.id, s.name, s.host, s.pid, s.url],
    );
    this.lastBeat = Date.now();
    this.lost = false;
  }

  /** Live replicas, oldest first, with the runs each is running. */
  async live(): Promise<(ReplicaRow & { running: RunningRun[] })[]> {
    const { rows } = await this.pool.query(
      `SELECT r.*, COALESCE(json_agg(json_build_object('run', runs.id, 'stack', runs.stack, 'kind', runs.kind, 'startedAt', runs.started_at) ORDER BY runs.seq)
              FILTER (WHERE runs.id IS NOT NULL), '[]') AS running
         FROM stackd_replicas r LEFT JOIN runs ON runs.replica = r.id AND runs.status = 'running'
        WHERE r.heartbeat_at > now() - make_interval(secs => $1)
        GROUP BY r.id ORDER BY r.started_at, r.id`,
      [this.leaseSeconds],
    );
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      host: r.host,
      pid: r.pid,
      url: r.url,
      leader: r.leader,
      startedAt: iso(r.started_at),
      heartbeatAt: iso(r.heartbeat_at),
      running: r.running as RunningRun[],
    }));
  }

  /** Whether a replica beat within the lease. */
  async alive(id: string): Promise<boolean> {
    const { rows } = await this.pool.query("SELECT 1 FROM stackd_replicas WHERE id = $1 AND heartbeat_at > now() - make_interval(secs => $2)", [id, this.leaseSeconds]);
    return rows.length > 0;
  }

  /** How people named a replica (its id when its row is gone). */
  async nameOf(id: string): Promise<string> {
    const { rows } = await this.pool.query("SELECT name FROM stackd_replicas WHERE id = $1", [id]);
    return (rows[0]?.name as string | undefined) ?? id;
  }

  /** Replicas silent for a whole lease: their rows go, their ids are returned. */
  async reapDead(): Promise<string[]> {
    const { rows } = await this.pool.query("DELETE FROM stackd_replicas WHERE heartbeat_at < now() - make_interval(secs => $1) RETURNING id", [this.leaseSeconds]);
    return rows.map((r) => r.id as string);
  }

  /** Records whether this replica leads, for the list of replicas. */
  async setLeader(leading: boolean): Promise<void> {
    await this.pool.query("UPDATE stackd_replicas SET leader = $1 WHERE id = $2", [leading, this.self.id]);
  }

  /** A stopping replica leaves at once rather than after a lease. */
  async leave(): Promise<void> {
    clearInterval(this.timer);
    clearInterval(this.watchdog);
    await this.pool.query("DELETE FROM stackd_replicas WHERE id = $1", [this.self.id]);
  }
}
