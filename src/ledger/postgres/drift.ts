import { newId } from "../../support/index.ts";
import type { Async, DriftRepository } from "../repositories.ts";
import { json, toDrift, where } from "../sqlite/rows.ts";
import type { DriftRecord } from "../types.ts";
import type { Queries } from "./client.ts";

type Drift = Async<DriftRepository>;

/** Drift checks (the last one per stack) and drift episodes in PostgreSQL. */
export class PgDrift implements Drift {
  private readonly q: Queries;

  constructor(q: Queries) {
    this.q = q;
  }

  async recordCheck(stack: string, at: string, drifted: boolean): Promise<void> {
    await this.q.run(
      "INSERT INTO drift_checks (stack, checked_at, drifted) VALUES (?, ?, ?) ON CONFLICT (stack) DO UPDATE SET checked_at = excluded.checked_at, drifted = excluded.drifted",
      [stack, at, drifted ? 1 : 0],
    );
  }

  async lastChecks(): Promise<Map<string, { checkedAt: string; drifted: boolean }>> {
    const rows = await this.q.all("SELECT * FROM drift_checks");
    return new Map(rows.map((r) => [r.stack as string, { checkedAt: r.checked_at as string, drifted: r.drifted === 1 }]));
  }

  async openEpisode(stack: string): Promise<(DriftRecord & { fingerprint: string }) | undefined> {
    const r = await this.q.one("SELECT * FROM drift WHERE stack = ? AND status = 'open' ORDER BY last_seen DESC LIMIT 1", [stack]);
    return r ? { ...toDrift(r), fingerprint: r.fingerprint as string } : undefined;
  }

  async insertEpisode(e: Parameters<Drift["insertEpisode"]>[0]): Promise<DriftRecord> {
    const id = newId("drift");
    await this.q.run(
      "INSERT INTO drift (id, stack, fingerprint, status, revision, first_seen, last_seen, times_seen, run_id, resources) VALUES (?, ?, ?, 'open', ?, ?, ?, 1, ?, ?)",
      [id, e.stack, e.fingerprint, e.revision, e.at, e.at, e.runId, json(e.resources)],
    );
    return (await this.get(id))!;
  }

  async touchEpisode(id: string, at: string, runId: string): Promise<void> {
    await this.q.run("UPDATE drift SET last_seen = ?, times_seen = times_seen + 1, run_id = ? WHERE id = ?", [at, runId, id]);
  }

  async closeEpisode(id: string, at: string): Promise<void> {
    await this.q.run("UPDATE drift SET status = 'closed', closed_at = ? WHERE id = ?", [at, id]);
  }

  async get(id: string): Promise<DriftRecord | undefined> {
    const r = await this.q.one("SELECT * FROM drift WHERE id = ?", [id]);
    return r ? toDrift(r) : undefined;
  }

  async list(filter: { stack?: string; status?: "open" | "closed"; limit?: number } = {}): Promise<DriftRecord[]> {
    const w = where({ stack: filter.stack, status: filter.status });
    return (await this.q.all(`SELECT * FROM drift ${w.sql} ORDER BY last_seen DESC LIMIT ?`, [...w.args, filter.limit ?? 100])).map(toDrift);
  }

  async prune(before: string): Promise<number> {
    return this.q.run("DELETE FROM drift WHERE status = 'closed' AND closed_at < ?", [before]);
  }
}
