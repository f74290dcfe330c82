import type { Statements } from "./statements.ts";
import { mask, newId } from "../../support/index.ts";
import type { RunsRepository } from "../repositories.ts";
import type { Run, RunWithLog } from "../types.ts";
import { CLAIM_RUN, FINISH_RUN, RUN_COLUMNS, SKIP_QUEUED_RUN, finishArgs } from "../sql.ts";
import { nextSeq, now, toRun, where, type Row } from "./rows.ts";

/** Runs in SQLite, in creation order (seq). */
export class SqliteRuns implements RunsRepository {
  private readonly db: Statements;

  constructor(db: Statements) {
    this.db = db;
  }

  create(r: Parameters<RunsRepository["create"]>[0]): Run {
    const id = newId("run");
    const seq = nextSeq(this.db, "runs");
    this.db
      .prepare("INSERT INTO runs (id, seq, stack, revision, kind, trigger, status, created_at, approval_of, requested_by, cascade_of) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
      .run(id, seq, r.stack, r.revision, r.kind, r.trigger, r.status ?? "queued", now(), r.approvalOf ?? null, r.requestedBy ?? null, r.cascadeOf ?? null);
    return this.get(id)!;
  }

  start(id: string, stateVersion: number): void {
    this.db.prepare("UPDATE runs SET status = 'running', started_at = ?, state_version = ? WHERE id = ?").run(now(), stateVersion, id);
  }

  claim(id: string, replica: string): boolean {
    return Number(this.db.prepare(CLAIM_RUN).run(now(), replica, id).changes) === 1;
  }

  skipQueued(id: string, reason: string): boolean {
    return Number(this.db.prepare(SKIP_QUEUED_RUN).run(mask(reason), now(), id).changes) === 1;
  }

  finish(id: string, result: Parameters<RunsRepository["finish"]>[1]): void {
    this.db.prepare(FINISH_RUN).run(...finishArgs(id, result));
  }

  setStatus(id: string, status: Run["status"], error?: string): void {
    this.db
      .prepare("UPDATE runs SET status = ?, error = COALESCE(?, error), finished_at = COALESCE(finished_at, ?) WHERE id = ?")
      .run(status, error ? mask(error) : null, now(), id);
  }

  get(id: string): RunWithLog | undefined {
    const r = this.db.prepare("SELECT * FROM runs WHERE id = ?").get(id) as Row | undefined;
    return r ? { ...toRun(r), log: (r.log as string) ?? "" } : undefined;
  }

  list(filter: { stack?: string; limit?: number; offset?: number; status?: Run["status"] } = {}): Run[] {
    const w = where({ stack: filter.stack, status: filter.status });
    return (this.db.prepare(`SELECT ${RUN_COLUMNS} FROM runs ${w.sql} ORDER BY seq DESC LIMIT ? OFFSET ?`).all(...w.args, filter.limit ?? 50, filter.offset ?? 0) as Row[]).map(toRun);
  }

  recent(perStack: number): Map<string, Run[]> {
    const rows = this.db
      .prepare(
        `SELECT ${RUN_COLUMNS} FROM (SELECT ${RUN_COLUMNS}, ROW_NUMBER() OVER (PARTITION BY stack ORDER BY seq DESC) AS n FROM runs)
         WHERE n <= ? ORDER BY stack, seq DESC`,
      )
      .all(perStack) as Row[];
    const byStack = new Map<string, Run[]>();
    for (const r of rows) {
      const run = toRun(r);
      const runs = byStack.get(run.stack);
      if (runs) runs.push(run);
      else byStack.set(run.stack, [run]);
    }
    return byStack;
  }

  latest(stack: string, revision: string): Run | undefined {
    const r = this.db.prepare(`SELECT ${RUN_COLUMNS} FROM runs WHERE stack = ? AND revision = ? ORDER BY seq DESC LIMIT 1`).get(stack, revision) as Row | undefined;
    return r ? toRun(r) : undefined;
  }

  interruptRunning(reason: string): Run[] {
    const running = (this.db.prepare(`SELECT ${RUN_COLUMNS} FROM runs WHERE status = 'running'`).all() as Row[]).map(toRun);
    for (const r of running) this.setStatus(r.id, "interrupted", reason);
    this.db.prepare("UPDATE runs SET status = 'skipped', error = ? WHERE status = 'queued'").run("not run: the service stopped before it started");
    return running;
  }

  prune(runsBefore: string, logsBefore: string): { runs: number; logs: number } {
    const logs = this.db.prepare("UPDATE runs SET log = NULL WHERE log IS NOT NULL AND finished_at < ?").run(logsBefore).changes;
    const runs = this.db
      .prepare(
        `DELETE FROM runs WHERE finished_at < ? AND status <> 'awaiting_approval'
           AND seq <> (SELECT MAX(seq) FROM runs newest WHERE newest.stack = runs.stack)`,
      )
      .run(runsBefore).changes;
    return { runs: Number(runs), logs: Number(logs) };
  }
}
