// The small repositories: approvals (kept on the preview runs), meta facts, webhook deliveries.
import { mask } from "../../support/index.ts";
import type { ApprovalsRepository, Async, DeliveriesRepository, MetaRepository, RunsRepository } from "../repositories.ts";
import type { Run } from "../types.ts";
import type { Queries } from "./client.ts";

/** Approvals kept on the preview runs themselves, as in SQLite. */
export class PgApprovals implements Async<ApprovalsRepository> {
  private readonly q: Queries;
  private readonly runs: Async<RunsRepository>;

  constructor(q: Queries, runs: Async<RunsRepository>) {
    this.q = q;
    this.runs = runs;
  }

  pending(stack: string): Promise<Run[]> {
    return this.runs.list({ stack, status: "awaiting_approval" });
  }

  async approve(runId: string, by: string): Promise<void> {
    await this.q.run("UPDATE runs SET status = 'approved', approved_by = ?, finished_at = COALESCE(finished_at, ?) WHERE id = ?", [by, new Date().toISOString(), runId]);
  }

  reject(runId: string, by: string): Promise<void> {
    return this.runs.setStatus(runId, "rejected", `rejected by ${by}`);
  }

  supersede(runId: string, reason: string): Promise<void> {
    return this.runs.setStatus(runId, "superseded", reason);
  }
}

/** Key/value facts in PostgreSQL. */
export class PgMeta implements Async<MetaRepository> {
  private readonly q: Queries;

  constructor(q: Queries) {
    this.q = q;
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.q.one("SELECT value FROM meta WHERE key = ?", [key]))?.value as string | undefined;
  }

  async set(key: string, value: string): Promise<void> {
    await this.q.run("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [key, mask(value)]);
  }

  async delete(key: string): Promise<void> {
    await this.q.run("DELETE FROM meta WHERE key = ?", [key]);
  }
}

/** How long a delivery ID is remembered: GitHub redelivers within hours, not days. */
const KEEP_MS = 24 * 3_600_000;

/** Webhook delivery IDs; an insert that conflicts is a replay, whichever replica received it first. */
export class PgDeliveries implements Async<DeliveriesRepository> {
  private readonly q: Queries;

  constructor(q: Queries) {
    this.q = q;
  }

  async accept(id: string): Promise<boolean> {
    const now = Date.now();
    await this.q.run("DELETE FROM deliveries WHERE received_at < ?", [new Date(now - KEEP_MS).toISOString()]);
    return (await this.q.run("INSERT INTO deliveries (id, received_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING", [id, new Date(now).toISOString()])) === 1;
  }
}
