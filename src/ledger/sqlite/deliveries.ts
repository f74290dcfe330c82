import type { Statements } from "./statements.ts";
import type { DeliveriesRepository } from "../repositories.ts";

/** How long a delivery ID is remembered: GitHub redelivers within hours, not days. */
const KEEP_MS = 24 * 3_600_000;

/** Webhook delivery IDs in SQLite; an insert that conflicts is a replay. */
export class SqliteDeliveries implements DeliveriesRepository {
  private readonly db: Statements;

  constructor(db: Statements) {
    this.db = db;
  }

  accept(id: string): boolean {
    const now = Date.now();
    this.db.prepare("DELETE FROM deliveries WHERE received_at < ?").run(new Date(now - KEEP_MS).toISOString());
    return this.db.prepare("INSERT INTO deliveries (id, received_at) VALUES (?, ?) ON CONFLICT(id) DO NOTHING").run(id, new Date(now).toISOString()).changes === 1;
  }
}
