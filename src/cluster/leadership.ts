import pg from "pg";

/** Any fixed number, the same in every replica: the leader holds this advisory lock. */
const LEADER_LOCK = 0x5374_6b65;

/**
 * Which replica leads: the one holding a session-level advisory lock on a
 * connection of its own. The lock goes with the connection, so a replica
 * that dies (kill -9 closes its socket) hands the lead on within a try; the
 * others try every `retryMs`.
 */
export class Leadership {
  private readonly url: string;
  private readonly applicationName: string;
  private readonly retryMs: number;
  private client: pg.Client | undefined;
  private leading = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly onChange: (leading: boolean) => void;

  constructor(o: { url: string; applicationName: string; retryMs: number; onChange: (leading: boolean) => void }) {
    this.url = o.url;
    this.applicationName = o.applicationName;
    this.retryMs = o.retryMs;
    this.onChange = o.onChange;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Tries for the lead now, then keeps trying until stopped. */
  async start(): Promise<void> {
    await this.attempt();
    this.timer = setInterval(() => void this.attempt(), this.retryMs);
    this.timer.unref();
  }

  private async attempt(): Promise<void> {
    if (this.stopped) return;
    try {
      // While leading, the connection is checked: a half-open one would keep the lead from the others.
      if (this.leading) {
        await this.client?.query("SELECT 1");
        return;
      }
      if (!this.client) {
        const client = new pg.Client({ connectionString: this.url, application_name: this.applicationName, keepAlive: true, query_timeout: this.retryMs });
        client.on("error", () => this.lost());
        client.on("end", () => this.lost());
        await client.connect();
        this.client = client;
      }
      const { rows } = await this.client.query("SELECT pg_try_advisory_lock($1) AS got", [LEADER_LOCK]);
      if (rows[0]?.got && !this.stopped) this.set(true);
    } catch {
      this.lost();
    }
  }

  private lost(): void {
    const client = this.client;
    this.client = undefined;
    client?.end().catch(() => {});
    this.set(false);
  }

  private set(leading: boolean): void {
    if (this.leading === leading) return;
    this.leading = leading;
    this.onChange(leading);
  }

  /** Gives the lead up (closing the connection releases the lock). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    const client = this.client;
    this.client = undefined;
    this.leading = false;
    await client?.end().catch(() => {});
  }
}
