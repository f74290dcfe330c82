import type { Statements } from "./statements.ts";
import { mask, newId } from "../../support/index.ts";
import type { PreviewsRepository } from "../repositories.ts";
import type { PreviewRecord } from "../types.ts";
import { json, nextSeq, now, toPreview, where, type Row } from "./rows.ts";

/** Pull request previews in SQLite, in creation order (seq). */
export class SqlitePreviews implements PreviewsRepository {
  private readonly db: Statements;

  constructor(db: Statements) {
    this.db = db;
  }

  create(p: Parameters<PreviewsRepository["create"]>[0]): PreviewRecord {
    const id = newId("preview");
    const seq = nextSeq(this.db, "previews");
    this.db
      .prepare("INSERT INTO previews (id, seq, repo, pr, head, base, status, created_at, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
      .run(id, seq, p.repo, p.pr, p.head, p.base, p.status ?? "queued", now(), p.error ? mask(p.error) : null);
    return this.get(id)!;
  }

  update(id: string, f: Parameters<PreviewsRepository["update"]>[1]): void {
    const finished = f.status && !["queued", "running"].includes(f.status) ? now() : null;
    this.db
      .prepare(
        `UPDATE previews SET status = COALESCE(?, status), report = COALESCE(?, report), markdown = COALESCE(?, markdown),
           error = COALESCE(?, error), check_run_id = COALESCE(?, check_run_id), comment_id = COALESCE(?, comment_id),
           finished_at = COALESCE(finished_at, ?) WHERE id = ?`,
      )
      .run(
        f.status ?? null,
        json(f.report),
        f.markdown !== undefined ? mask(f.markdown) : null,
        f.error ? mask(f.error) : null,
        f.checkRunId ?? null,
        f.commentId ?? null,
        finished,
        id,
      );
  }

  get(id: string): PreviewRecord | undefined {
    const r = this.db.prepare("SELECT * FROM previews WHERE id = ?").get(id) as Row | undefined;
    return r ? toPreview(r) : undefined;
  }

  list(filter: { repo?: string; pr?: number; limit?: number } = {}): PreviewRecord[] {
    const w = where({ repo: filter.repo, pr: filter.pr });
    return (this.db.prepare(`SELECT * FROM previews ${w.sql} ORDER BY seq DESC LIMIT ?`).all(...w.args, filter.limit ?? 50) as Row[]).map(toPreview);
  }

  prune(before: string): number {
    return Number(this.db.prepare("DELETE FROM previews WHERE finished_at < ?").run(before).changes);
  }
}
