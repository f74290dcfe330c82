import { mask, newId } from "../../support/index.ts";
import type { Async, RunsRepository } from "../repositories.ts";
import { CLAIM_RUN, FINISH_RUN, RUN_COLUMNS, SKIP_QUEUED_RUN, finishArgs } from "../sql.ts";
import { now, toRun, where } from "../sqlite/rows.ts";
import type { Run, RunWithLog } from "../types.ts";
import type { Queries } from "./client.ts";

type Runs = Async<RunsRepository>;

/** Runs in PostgreSQL, in creation order (seq, from an identity column). */
export class PgRuns implements Runs {
  private readonly q: Queries;

  constructor(q: Queries) {
    this.q = q;
  }

  async create(r: Parameters<Runs["create"]>[0]): Promise<Run> {
    const id = newId("run");
    await this.q.run(
      "INSERT INTO runs (id, stack, revision, kind, trigger, status, created_at, approval_of, requested_by, cascade_of) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      [id, r.stack, r.revision, r.kind, r.trigger, r.status ?? "queued", now(), r.approvalOf ?? null, r.requestedBy ?? null, r.cascadeOf ?? null],
    );
    return (await this.get(id))!;
  }

  async start(id: string, stateVersion: number): Promise<void> {
    await this.q.run("UPDATE runs SET status = 'running', started_at = ?, state_version = ? WHERE id = ?", [now(), stateVersion, id]);
  }

  async claim(id: string, replica: string): Promise<boolean> {
    return (await this.q.run(CLAIM_RUN, [now(), replica, id])) === 1;
  }

  async skipQueued(id: string, reason: string): Promise<boolean> {
    return (await this.q.run(SKIP_QUEUED_RUN, [mask(reason), now(), id])) === 1;
  }

  async finish(id: string, result: Parameters<Runs["finish"]>[1]): Promise<void> {
    await this.q.run(FINISH_RUN, finishArgs(id, result));
  }

  async setStatus(id: string, status: Run["status"], error?: string): Promise<void> {
    await this.q.run("UPDATE runs SET status = ?, error = COALESCE(?, error), finished_at = COALESCE(finished_at, ?) WHERE id = ?", [status, error ? mask(error) : null, now(), id]);
  }

  async get(id: string): Promise<RunWithLog | undefined> {
    const r = await this.q.one("SELECT * FROM runs WHERE id = ?", [id]);
    return r ? { ...toRun(r), log: (r.log as string) ?? "" } : undefined;
  }

  async list(filter: { stack?: string; limit?: number; offset?: number; status?: Run["status"] } = {}): Promise<Run[]> {
    const w = where({ stack: filter.stack, status: filter.status });
    return (await this.q.all(`SELECT ${RUN_COLUMNS} FROM runs ${w.sql} ORDER BY seq DESC LIMIT ? OFFSET ?`, [...w.args, filter.limit ?? 50, filter.offset ?? 0])).map(toRun);
  }

  async recent(perStack: number): Promise<Map<string, Run[]>> {
    const rows = await this.q.all(
      `SELECT ${RUN_COLUMNS} FROM (SELECT ${RUN_COLUMNS}, ROW_NUMBER() OVER (PARTITION BY stack ORDER BY seq DESC) AS n FROM runs) newest
       WHERE n <= ? ORDER BY stack, seq DESC`,
      [perStack],
    );
    const byStack = new Map<string, Run[]>();
    for (const r of rows) {
      const run = toRun(r);
      byStack.set(run.stack, [...(byStack.get(run.stack) ?? []), run]);
    }
    return byStack;
  }

  async latest(stack: string, revision: string): Promise<Run | undefined> {
    const r = await this.q.one(`SELECT ${RUN_COLUMNS} FROM runs WHERE stack = ? AND revision = ? ORDER BY seq DESC LIMIT 1`, [stack, revision]);
    return r ? toRun(r) : undefined;
  }

  async interruptRunning(reason: string): Promise<Run[]> {
    const running = (await this.q.all(`SELECT ${RUN_COLUMNS} FROM runs WHERE status = 'running'`)).map(toRun);
    for (const r of running) await this.setStatus(r.id, "interrupted", reason);
    await this.q.run("UPDATE runs SET status = 'skipped', error = ? WHERE status = 'queued'", ["not run: the service stopped before it started"]);
    return running;
  }

  async prune(runsBefore: string, logsBefore: string): Promise<{ runs: number; logs: number }> {
    const logs = await this.q.run("UPDATE runs SET log = NULL WHERE log IS NOT NULL AND finished_at < ?", [logsBefore]);
    const runs = await this.q.run(
      `DELETE FROM runs WHERE finished_at < ? AND status <> 'awaiting_approval'
         AND seq <> (SELECT MAX(seq) FROM runs newest WHERE newest.stack = runs.stack)`,
      [runsBefore],
    );
    return { runs, logs };
  }
}
