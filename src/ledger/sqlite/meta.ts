import type { Statements } from "./statements.ts";
import { mask } from "../../support/index.ts";
import type { MetaRepository } from "../repositories.ts";
import type { Row } from "./rows.ts";

/** Key/value facts in SQLite. */
export class SqliteMeta implements MetaRepository {
  private readonly db: Statements;

  constructor(db: Statements) {
    this.db = db;
  }

  get(key: string): string | undefined {
    return (this.db.prepare("SELECT value FROM meta WHERE key = ?").get(key) as Row | undefined)?.value as string | undefined;
  }

  set(key: string, value: string): void {
    this.db.prepare("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(key, mask(value));
  }

  delete(key: string): void {
    this.db.prepare("DELETE FROM meta WHERE key = ?").run(key);
  }
}
