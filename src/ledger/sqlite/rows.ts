// Rows to records and back: JSON columns, masking on the way in.
import type { Statements } from "./statements.ts";
import { mask } from "../../support/index.ts";
import type { ResourceChange } from "../../report/index.ts";
import type { DriftRecord, Pin, PreviewRecord, PreviewStatus, Run, RunKind, RunStatus, StackRead, StackRow, Trigger } from "../types.ts";

/** A row as node:sqlite returns it. */
export type Row = Record<string, unknown>;

/** A JSON column's text, masked: nothing secret reaches the file. */
export const json = (v: unknown): string | null => (v === undefined || v === null ? null : mask(JSON.stringify(v)));
/** A JSON column's value. */
export const parse = <T>(v: unknown): T | null => (typeof v === "string" ? (JSON.parse(v) as T) : null);
/** The ledger's timestamps: ISO 8601 in UTC. */
export const now = (): string => new Date().toISOString();

/** A runs row as a Run. */
export function toRun(r: Row): Run {
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
    requestedBy: (r.requested_by as string) ?? null,
    approvedBy: (r.approved_by as string) ?? null,
    planDigest: (r.plan_digest as string) ?? null,
    checkpoint: (r.checkpoint as string) ?? null,
    replica: (r.replica as string) ?? null,
    cascadeOf: (r.cascade_of as string) ?? null,
  };
}

/** A drift row as a DriftRecord. */
export function toDrift(r: Row): DriftRecord {
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

/** A previews row as a PreviewRecord. */
export function toPreview(r: Row): PreviewRecord {
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

/** A stacks row as a StackRow. */
export function toStack(r: Row): StackRow {
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
    reads: parse<StackRead[]>(r.reads) ?? [],
    outputsDigest: (r.outputs_digest as string) ?? null,
    resourceCount: (r.resource_count as number) ?? null,
    pinned: parse<Pin>(r.pinned),
    orphanedAt: (r.orphaned_at as string) ?? null,
  };
}

/** The next position in a table's creation order (runs and previews list newest first by it). */
export function nextSeq(db: Statements, table: "runs" | "previews"): number {
  return (db.prepare(`SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM ${table}`).get() as Row).n as number;
}

/** A WHERE clause from the filters that are set. */
export function where(filters: Record<string, string | number | undefined>): { sql: string; args: (string | number)[] } {
  const set = Object.entries(filters).filter((e): e is [string, string | number] => e[1] !== undefined);
  return { sql: set.length ? `WHERE ${set.map(([k]) => `${k} = ?`).join(" AND ")}` : "", args: set.map(([, v]) => v) };
}
