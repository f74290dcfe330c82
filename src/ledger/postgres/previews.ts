import { mask, newId } from "../../support/index.ts";
import type { Async, PreviewsRepository } from "../repositories.ts";
import { json, now, toPreview, where } from "../sqlite/rows.ts";
import type { PreviewRecord } from "../types.ts";
import type { Queries } from "./client.ts";

type Previews = Async<PreviewsRepository>;

/** Pull request previews in PostgreSQL, in creation order (seq). */
export class PgPreviews implements Previews {
  private readonly q: Queries;

  constructor(q: Queries) {
    this.q = q;
  }

  async create(p: Parameters<Previews["create"]>[0]): Promise<PreviewRecord> {
    const id = newId("preview");
    await this.q.run("INSERT INTO previews (id, repo, pr, head, base, status, created_at, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [
      id,
      p.repo,
      p.pr,
      p.head,
      p.base,
      p.status ?? "queued",
      now(),
      p.error ? mask(p.error) : null,
    ]);
    return (await this.get(id))!;
  }

  async update(id: string, f: Parameters<Previews["update"]>[1]): Promise<void> {
    const finished = f.status && !["queued", "running"].includes(f.status) ? now() : null;
    await this.q.run(
      `UPDATE previews SET status = COALESCE(?, status), report = COALESCE(?, report), markdown = COALESCE(?, markdown),
         error = COALESCE(?, error), check_run_id = COALESCE(?, check_run_id), comment_id = COALESCE(?, comment_id),
         finished_at = COALESCE(finished_at, ?) WHERE id = ?`,
      [f.status ?? null, json(f.report), f.markdown !== undefined ? mask(f.markdown) : null, f.error ? mask(f.error) : null, f.checkRunId ?? null, f.commentId ?? null, finished, id],
    );
  }

  async get(id: string): Promise<PreviewRecord | undefined> {
    const r = await this.q.one("SELECT * FROM previews WHERE id = ?", [id]);
    return r ? toPreview(r) : undefined;
  }

  async list(filter: { repo?: string; pr?: number; limit?: number } = {}): Promise<PreviewRecord[]> {
    const w = where({ repo: filter.repo, pr: filter.pr });
    return (await this.q.all(`SELECT * FROM previews ${w.sql} ORDER BY seq DESC LIMIT ?`, [...w.args, filter.limit ?? 50])).map(toPreview);
  }

  async prune(before: string): Promise<number> {
    return this.q.run("DELETE FROM previews WHERE finished_at < ?", [before]);
  }
}
