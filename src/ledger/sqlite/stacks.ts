import type { Statements } from "./statements.ts";
import type { StacksRepository } from "../repositories.ts";
import { RECORD_OUTCOME, outcomeArgs } from "../sql.ts";
import type { Pin, StackRead, StackRow } from "../types.ts";
import { json, toStack, type Row } from "./rows.ts";

/** Stack rows in SQLite, one per project/stack. */
export class SqliteStacks implements StacksRepository {
  private readonly db: Statements;

  constructor(db: Statements) {
    this.db = db;
  }

  upsert(s: Parameters<StacksRepository["upsert"]>[0]): void {
    this.db
      .prepare(
        `INSERT INTO stacks (name, project, stack, apply_mode) VALUES (?, ?, ?, ?)
         ON CONFLICT(name) DO UPDATE SET apply_mode = excluded.apply_mode, orphaned_at = NULL`,
      )
      .run(s.name, s.project, s.stack, s.applyMode);
  }

  get(name: string): StackRow | undefined {
    const r = this.db.prepare("SELECT * FROM stacks WHERE name = ?").get(name) as Row | undefined;
    return r ? toStack(r) : undefined;
  }

  list(): StackRow[] {
    return (this.db.prepare("SELECT * FROM stacks ORDER BY name").all() as Row[]).map(toStack);
  }

  recordOutcome(name: string, o: Parameters<StacksRepository["recordOutcome"]>[1]): void {
    this.db.prepare(RECORD_OUTCOME).run(...outcomeArgs(name, o));
  }

  resetFailures(name: string): void {
    this.db.prepare("UPDATE stacks SET failures = 0, retry_at = NULL WHERE name = ?").run(name);
  }

  recordOutputs(name: string, digest: string, resourceCount: number): void {
    this.db.prepare("UPDATE stacks SET outputs_digest = ?, resource_count = ? WHERE name = ?").run(digest, resourceCount, name);
  }

  recordReads(name: string, reads: StackRead[]): void {
    this.db.prepare("UPDATE stacks SET reads = ? WHERE name = ?").run(json(reads), name);
  }

  pin(name: string, pin: Pin | null): void {
    this.db.prepare("UPDATE stacks SET pinned = ? WHERE name = ?").run(json(pin), name);
  }

  markOrphaned(name: string, at: string): void {
    this.db.prepare("UPDATE stacks SET orphaned_at = COALESCE(orphaned_at, ?) WHERE name = ?").run(at, name);
  }

  remove(name: string): void {
    this.db.prepare("DELETE FROM stacks WHERE name = ?").run(name);
  }
}
