import type { Statements } from "./statements.ts";
import { newId } from "../../support/index.ts";
import type { DriftRepository } from "../repositories.ts";
import type { DriftRecord } from "../types.ts";
import { json, toDrift, where, type Row } from "./rows.ts";

/** Drift checks (the last one per stack) and drift episodes in SQLite. */
export class SqliteDrift implements DriftRepository {
  private readonly db: Statements;

  constructor(db: Statements) {
    this.db = db;
  }

  recordCheck(stack: string, at: string, drifted: boolean): void {
    this.db
      .prepare("INSERT INTO drift_checks (stack, checked_at, drifted) VALUES (?, ?, ?) ON CONFLICT(stack) DO UPDATE SET checked_at = excluded.checked_at, drifted = excluded.drifted")
      .run(stack, at, drifted ? 1 : 0);
  }

  lastChecks(): Map<string, { checkedAt: string; drifted: boolean }> {
    const rows = this.db.prepare("SELECT * FROM drift_checks").all() as Row[];
    return new Map(rows.map((r) => [r.stack as string, { checkedAt: r.checked_at as string, drifted: r.drifted === 1 }]));
  }

  openEpisode(stack: string): (DriftRecord & { fingerprint: string }) | undefined {
    const r = this.db.prepare("SELECT * FROM drift WHERE stack = ? AND status = 'open' ORDER BY last_seen DESC LIMIT 1").get(stack) as Row | undefined;
    return r ? { ...toDrift(r), fingerprint: r.fingerprint as string } : undefined;
  }

  insertEpisode(e: Parameters<DriftRepository["insertEpisode"]>[0]): DriftRecord {
    const id = newId("drift");
    this.db
      .prepare("INSERT INTO drift (id, stack, fingerprint, status, revision, first_seen, last_seen, times_seen, run_id, resources) VALUES (?, ?, ?, 'open', ?, ?, ?, 1, ?, ?)")
      .run(id, e.stack, e.fingerprint, e.revision, e.at, e.at, e.runId, json(e.resources));
    return this.get(id)!;
  }

  touchEpisode(id: string, at: string, runId: string): void {
    this.db.prepare("UPDATE drift SET last_seen = ?, times_seen = times_seen + 1, run_id = ? WHERE id = ?").run(at, runId, id);
  }

  closeEpisode(id: string, at: string): void {
    this.db.prepare("UPDATE drift SET status = 'closed', closed_at = ? WHERE id = ?").run(at, id);
  }

  get(id: string): DriftRecord | undefined {
    const r = this.db.prepare("SELECT * FROM drift WHERE id = ?").get(id) as Row | undefined;
    return r ? toDrift(r) : undefined;
  }

  list(filter: { stack?: string; status?: "open" | "closed"; limit?: number } = {}): DriftRecord[] {
    const w = where({ stack: filter.stack, status: filter.status });
    return (this.db.prepare(`SELECT * FROM drift ${w.sql} ORDER BY last_seen DESC LIMIT ?`).all(...w.args, filter.limit ?? 100) as Row[]).map(toDrift);
  }

  prune(before: string): number {
    return Number(this.db.prepare("DELETE FROM drift WHERE status = 'closed' AND closed_at < ?").run(before).changes);
  }
}
