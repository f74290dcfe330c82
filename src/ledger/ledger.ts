import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { DatabaseSync } from "node:sqlite";
import { mask } from "../credentials/index.ts";
import { SCHEMA } from "./schema.sql.ts";
import type { ResourceChange } from "../report/index.ts";
import { shortHash } from "../support/index.ts";
import type { PreviewRecord, PreviewStatus, DriftRecord, DriftTransition, Run, RunKind, RunResult, RunStatus, RunWithLog, StackRow, Trigger } from "./types.ts";

type Row = Record<string, unknown>;

const json = (v: unknown) => (v === undefined || v === null ? null : mask(JSON.stringify(v)));
const parse = <T>(v: unknown): T | null => (typeof v === "string" ? (JSON.parse(v) as T) : null);
const now = () => new Date().toISOString();

function toRun(r: Row): Run {
  return {
    id: r.id as string,
    stack: r.stack as string,
    revision: r.revision as string,
    kind: r.kind as RunKind,
    trigger: r.trigger as Trigger,
    status: r.status as RunStatus,
    createdAt: r.created_at as string,
    startedAt: (r.started_at as string) ?? null,
    finishedAt: (r.finished_at as string) ?? null,
    changes: parse(r.changes),
    resources: parse(r.resources),
    policy: parse(r.policy),
    error: (r.error as string) ?? null,
    stateVersion: (r.state_version as number) ?? null,
    approvalOf: (r.approval_of as string) ?? null,
    runtime: (r.runtime as string) ?? null,
    plugins: parse(r.plugins),
  };
}

function toDrift(r: Row): DriftRecord {
  return {
    id: r.id as string,
    stack: r.stack as string,
    status: r.status as "open" | "closed",
    revision: r.revision as string,
    firstSeen: r.first_seen as string,
    lastSeen: r.last_seen as string,
    timesSeen: r.times_seen as number,
    closedAt: (r.closed_at as string) ?? null,
    runId: r.run_id as string,
    resources: JSON.parse(r.resources as string) as ResourceChange[],
  };
}

/** Identifies "the same drift": which resources, which properties, which values. */
function fingerprint(drifted: ResourceChange[]): string {
  const canonical = [...drifted].sort((a, b) => a.urn.localeCompare(b.urn)).map((r) => [r.urn, r.op, r.drift ?? []]);
  return shortHash(JSON.stringify(canonical));
}

function toPreview(r: Row): PreviewRecord {
  return {
    id: r.id as string,
    repo: r.repo as string,
    pr: r.pr as number,
    head: r.head as string,
    base: r.base as string,
    status: r.status as PreviewStatus,
    createdAt: r.created_at as string,
    finishedAt: (r.finished_at as string) ?? null,
    report: parse(r.report),
    markdown: (r.markdown as string) ?? null,
    error: (r.error as string) ?? null,
    checkRunId: (r.check_run_id as number) ?? null,
    commentId: (r.comment_id as number) ?? null,
  };
}

function toStack(r: Row): StackRow {
  return {
    name: r.name as string,
    project: r.project as string,
    stack: r.stack as string,
    appliedRevision: (r.applied_revision as string) ?? null,
    stateVersion: r.state_version as number,
    failures: r.failures as number,
    retryAt: (r.retry_at as string) ?? null,
    lastResult: (r.last_result as RunStatus) ?? null,
    applyMode: r.apply_mode as "auto" | "manual",
  };
}

/**
 * The durable record of every run and of each stack's applied revision, in
 * SQLite (WAL, so the CLI can read while the service writes). Everything
 * textual is masked on the way in.
 */
export class Ledger {
  private readonly db: DatabaseSync;

  constructor(file: string) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.db = new DatabaseSync(file);
    this.db.exec("PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL;");
    this.db.exec(SCHEMA);
    this.addColumns("runs", { runtime: "TEXT", plugins: "TEXT" });
  }

  /** Columns added after a table first shipped: a ledger from an older stackd gains them, keeping every row. */
  private addColumns(table: string, columns: Record<string, string>): void {
    const have = new Set((this.db.prepare(`PRAGMA table_info(${table})`).all() as Row[]).map((c) => c.name as string));
    for (const [name, type] of Object.entries(columns)) {
      if (!have.has(name)) this.db.exec(`ALTER TABLE ${table} ADD COLUMN ${name} ${type}`);
    }
  }

  static open(dataDir: string): Ledger {
    return new Ledger(path.join(dataDir, "ledger.db"));
  }

  close(): void {
    this.db.close();
  }

  createRun(r: { stack: string; revision: string; kind: RunKind; trigger: Trigger; status?: RunStatus; approvalOf?: string }): Run {
    const id = `run_${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
    const seq = (this.db.prepare("SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM runs").get() as Row).n as number;
    this.db
      .prepare(
        "INSERT INTO runs (id, seq, stack, revision, kind, trigger, status, created_at, approval_of) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      )
      .run(id, seq, r.stack, r.revision, r.kind, r.trigger, r.status ?? "queued", now(), r.approvalOf ?? null);
    return this.getRun(id)!;
  }

  startRun(id: string, stateVersion: number): void {
    this.db.prepare("UPDATE runs SET status = 'running', started_at = ?, state_version = ? WHERE id = ?").run(now(), stateVersion, id);
  }

  finishRun(id: string, result: RunResult): void {
    this.db
      .prepare(
        `UPDATE runs SET status = ?, finished_at = ?, changes = ?, resources = ?, policy = ?, error = ?, log = ?, runtime = ?, plugins = ? WHERE id = ?`,
      )
      .run(
        result.status,
        now(),
        json(result.changes),
        json(result.resources),
        json(result.policy),
        result.error ? mask(result.error) : null,
        result.log ? mask(result.log) : null,
        result.runtime ?? null,
        json(result.plugins),
        id,
      );
  }

  setRunStatus(id: string, status: RunStatus, error?: string): void {
    this.db
      .prepare("UPDATE runs SET status = ?, error = COALESCE(?, error), finished_at = COALESCE(finished_at, ?) WHERE id = ?")
      .run(status, error ? mask(error) : null, now(), id);
  }

  getRun(id: string): RunWithLog | undefined {
    const r = this.db.prepare("SELECT * FROM runs WHERE id = ?").get(id) as Row | undefined;
    return r ? { ...toRun(r), log: (r.log as string) ?? "" } : undefined;
  }

  listRuns(filter: { stack?: string; limit?: number; status?: RunStatus } = {}): Run[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (filter.stack) (where.push("stack = ?"), args.push(filter.stack));
    if (filter.status) (where.push("status = ?"), args.push(filter.status));
    const sql = `SELECT * FROM runs ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY seq DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...args, filter.limit ?? 50) as Row[]).map(toRun);
  }

  /** The newest run of a stack at one revision. */
  latestRun(stack: string, revision: string): Run | undefined {
    const r = this.db.prepare("SELECT * FROM runs WHERE stack = ? AND revision = ? ORDER BY seq DESC LIMIT 1").get(stack, revision) as Row | undefined;
    return r ? toRun(r) : undefined;
  }

  /** Runs a crash left running: marked interrupted, returned so their stacks can be cleaned up. */
  interruptRunning(reason: string): Run[] {
    const running = (this.db.prepare("SELECT * FROM runs WHERE status = 'running'").all() as Row[]).map(toRun);
    for (const r of running) this.setRunStatus(r.id, "interrupted", reason);
    this.db.prepare("UPDATE runs SET status = 'skipped', error = ? WHERE status = 'queued'").run("not run: the service stopped before it started");
    return running;
  }

  upsertStack(s: { name: string; project: string; stack: string; applyMode: "auto" | "manual" }): void {
    this.db
      .prepare(
        `INSERT INTO stacks (name, project, stack, apply_mode) VALUES (?, ?, ?, ?)
         ON CONFLICT(name) DO UPDATE SET apply_mode = excluded.apply_mode`,
      )
      .run(s.name, s.project, s.stack, s.applyMode);
  }

  getStack(name: string): StackRow | undefined {
    const r = this.db.prepare("SELECT * FROM stacks WHERE name = ?").get(name) as Row | undefined;
    return r ? toStack(r) : undefined;
  }

  listStacks(): StackRow[] {
    return (this.db.prepare("SELECT * FROM stacks ORDER BY name").all() as Row[]).map(toStack);
  }

  /** Records a finished run's effect on its stack: applied revision, state version, failure streak. */
  recordOutcome(
    name: string,
    o: { applied?: string; stateChanged?: boolean; failed: boolean; failures?: number; result: RunStatus; retryAt?: string | null },
  ): void {
    this.db
      .prepare(
        `UPDATE stacks SET
           applied_revision = COALESCE(?, applied_revision),
           state_version = state_version + ?,
           failures = CASE WHEN ? THEN COALESCE(?, failures + 1) ELSE 0 END,
           retry_at = ?,
           last_result = ?
         WHERE name = ?`,
      )
      .run(o.applied ?? null, o.stateChanged ? 1 : 0, o.failed ? 1 : 0, o.failures ?? null, o.retryAt ?? null, o.result, name);
  }

  /** Clears a stalled stack's failure streak (new commit or manual retry). */
  resetFailures(name: string): void {
    this.db.prepare("UPDATE stacks SET failures = 0, retry_at = NULL WHERE name = ?").run(name);
  }

  /**
   * Records a drift check's result against the stack's open drift episode:
   * the same drift again only bumps lastSeen/timesSeen; different drift closes
   * the old episode and opens a new one; no drift closes what was open.
   */
  recordDriftCheck(stack: string, check: { revision: string; runId: string; drifted: ResourceChange[] }): { transition: DriftTransition; record?: DriftRecord } {
    const at = now();
    this.db
      .prepare("INSERT INTO drift_checks (stack, checked_at, drifted) VALUES (?, ?, ?) ON CONFLICT(stack) DO UPDATE SET checked_at = excluded.checked_at, drifted = excluded.drifted")
      .run(stack, at, check.drifted.length > 0 ? 1 : 0);
    const open = this.openDrift(stack)[0];
    if (check.drifted.length === 0) {
      if (!open) return { transition: "in-sync" };
      this.db.prepare("UPDATE drift SET status = 'closed', closed_at = ? WHERE id = ?").run(at, open.id);
      return { transition: "resolved", record: this.getDrift(open.id) };
    }
    const fp = fingerprint(check.drifted);
    if (open && open.fingerprint === fp) {
      this.db.prepare("UPDATE drift SET last_seen = ?, times_seen = times_seen + 1, run_id = ? WHERE id = ?").run(at, check.runId, open.id);
      return { transition: "seen-again", record: this.getDrift(open.id) };
    }
    if (open) this.db.prepare("UPDATE drift SET status = 'closed', closed_at = ? WHERE id = ?").run(at, open.id);
    const id = `drift_${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
    this.db
      .prepare(
        "INSERT INTO drift (id, stack, fingerprint, status, revision, first_seen, last_seen, times_seen, run_id, resources) VALUES (?, ?, ?, 'open', ?, ?, ?, 1, ?, ?)",
      )
      .run(id, stack, fp, check.revision, at, at, check.runId, json(check.drifted));
    return { transition: "detected", record: this.getDrift(id) };
  }

  private openDrift(stack: string): (DriftRecord & { fingerprint: string })[] {
    return (this.db.prepare("SELECT * FROM drift WHERE stack = ? AND status = 'open'").all(stack) as Row[]).map((r) => ({
      ...toDrift(r),
      fingerprint: r.fingerprint as string,
    }));
  }

  getDrift(id: string): DriftRecord | undefined {
    const r = this.db.prepare("SELECT * FROM drift WHERE id = ?").get(id) as Row | undefined;
    return r ? toDrift(r) : undefined;
  }

  /** Drift episodes, newest first: every open one, or one stack's history. */
  listDrift(filter: { stack?: string; status?: "open" | "closed"; limit?: number } = {}): DriftRecord[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (filter.stack) (where.push("stack = ?"), args.push(filter.stack));
    if (filter.status) (where.push("status = ?"), args.push(filter.status));
    const sql = `SELECT * FROM drift ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY last_seen DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...args, filter.limit ?? 100) as Row[]).map(toDrift);
  }

  /** When the stack was last checked for drift, and whether it had any. */
  lastDriftCheck(stack: string): { checkedAt: string; drifted: boolean } | undefined {
    const r = this.db.prepare("SELECT * FROM drift_checks WHERE stack = ?").get(stack) as Row | undefined;
    return r ? { checkedAt: r.checked_at as string, drifted: r.drifted === 1 } : undefined;
  }

  createPreview(p: { repo: string; pr: number; head: string; base: string; status?: PreviewStatus; error?: string }): PreviewRecord {
    const id = `preview_${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
    const seq = (this.db.prepare("SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM previews").get() as Row).n as number;
    this.db
      .prepare("INSERT INTO previews (id, seq, repo, pr, head, base, status, created_at, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
      .run(id, seq, p.repo, p.pr, p.head, p.base, p.status ?? "queued", now(), p.error ? mask(p.error) : null);
    return this.getPreview(id)!;
  }

  updatePreview(id: string, f: { status?: PreviewStatus; report?: unknown; markdown?: string; error?: string; checkRunId?: number; commentId?: number }): void {
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

  getPreview(id: string): PreviewRecord | undefined {
    const r = this.db.prepare("SELECT * FROM previews WHERE id = ?").get(id) as Row | undefined;
    return r ? toPreview(r) : undefined;
  }

  listPreviews(filter: { repo?: string; pr?: number; limit?: number } = {}): PreviewRecord[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (filter.repo) (where.push("repo = ?"), args.push(filter.repo));
    if (filter.pr !== undefined) (where.push("pr = ?"), args.push(filter.pr));
    const sql = `SELECT * FROM previews ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY seq DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...args, filter.limit ?? 50) as Row[]).map(toPreview);
  }

  getMeta(key: string): string | undefined {
    return (this.db.prepare("SELECT value FROM meta WHERE key = ?").get(key) as Row | undefined)?.value as string | undefined;
  }

  setMeta(key: string, value: string): void {
    this.db.prepare("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(key, mask(value));
  }

  deleteMeta(key: string): void {
    this.db.prepare("DELETE FROM meta WHERE key = ?").run(key);
  }
}
