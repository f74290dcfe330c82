import type { Async, StacksRepository } from "../repositories.ts";
import { json, toStack } from "../sqlite/rows.ts";
import { RECORD_OUTCOME, outcomeArgs } from "../sql.ts";
import type { Pin, StackRead, StackRow } from "../types.ts";
import type { Queries } from "./client.ts";

type Stacks = Async<StacksRepository>;

/** Stack rows in PostgreSQL, one per project/stack. */
export class PgStacks implements Stacks {
  private readonly q: Queries;

  constructor(q: Queries) {
    this.q = q;
  }

  async upsert(s: Parameters<Stacks["upsert"]>[0]): Promise<void> {
    await this.q.run(
      `INSERT INTO stacks (name, project, stack, apply_mode) VALUES (?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET apply_mode = excluded.apply_mode, orphaned_at = NULL`,
      [s.name, s.project, s.stack, s.applyMode],
    );
  }

  async get(name: string): Promise<StackRow | undefined> {
    const r = await this.q.one("SELECT * FROM stacks WHERE name = ?", [name]);
    return r ? toStack(r) : undefined;
  }

  async list(): Promise<StackRow[]> {
    return (await this.q.all("SELECT * FROM stacks ORDER BY name")).map(toStack);
  }

  async recordOutcome(name: string, o: Parameters<Stacks["recordOutcome"]>[1]): Promise<void> {
    await this.q.run(RECORD_OUTCOME, outcomeArgs(name, o));
  }

  async resetFailures(name: string): Promise<void> {
    await this.q.run("UPDATE stacks SET failures = 0, retry_at = NULL WHERE name = ?", [name]);
  }

  async recordOutputs(name: string, digest: string, resourceCount: number): Promise<void> {
    await this.q.run("UPDATE stacks SET outputs_digest = ?, resource_count = ? WHERE name = ?", [digest, resourceCount, name]);
  }

  async recordReads(name: string, reads: StackRead[]): Promise<void> {
    await this.q.run("UPDATE stacks SET reads = ? WHERE name = ?", [json(reads), name]);
  }

  async pin(name: string, pin: Pin | null): Promise<void> {
    await this.q.run("UPDATE stacks SET pinned = ? WHERE name = ?", [json(pin), name]);
  }

  async markOrphaned(name: string, at: string): Promise<void> {
    await this.q.run("UPDATE stacks SET orphaned_at = COALESCE(orphaned_at, ?) WHERE name = ?", [at, name]);
  }

  async remove(name: string): Promise<void> {
    await this.q.run("DELETE FROM stacks WHERE name = ?", [name]);
  }
}
