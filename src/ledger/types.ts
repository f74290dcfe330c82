import type { ChangeCounts, PolicyViolation, Report, ResourceChange, UsedPlugin } from "../report/index.ts";

/** What a run does to its stack. */
export type RunKind = "preview" | "up" | "refresh" | "destroy";
/** What started a run. */
export type Trigger = "poll" | "webhook" | "api" | "schedule" | "retry" | "cascade" | "rollback" | "prune";
/** Where a run is in its life. */
export type RunStatus =
  | "queued"
  | "running"
  | "succeeded"
  | "failed"
  | "blocked"
  | "skipped"
  | "interrupted"
  | "awaiting_approval"
  | "approved"
  | "rejected"
  | "superseded"
  | "cancelled";

/** One run of one stack at one revision, as the ledger holds it. */
export interface Run {
  id: string;
  stack: string;
  revision: string;
  kind: RunKind;
  trigger: Trigger;
  status: RunStatus;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  changes: ChangeCounts | null;
  resources: ResourceChange[] | null;
  policy: PolicyViolation[] | null;
  error: string | null;
  /** The stack's state version when the run started: approvals are bound to it. */
  stateVersion: number | null;
  /** For an up that applies an approved preview: that preview's id. */
  approvalOf: string | null;
  /** The program's runtime and the plugins (with their sha256) the run used. */
  runtime: string | null;
  plugins: UsedPlugin[] | null;
  /** The API token's name that asked for the run (null: the service's own schedule or a push). */
  requestedBy: string | null;
  /** For a preview awaiting approval that was approved: the approving token's name. */
  approvedBy: string | null;
  /** The sha256 of the update plan a preview saved, or an approved up applied. */
  planDigest: string | null;
  /** The state checkpoint (sha256 of the stack's exported state) that plan was made against. */
  checkpoint: string | null;
  /** The replica that ran it, when replicas share a PostgreSQL ledger; null for a single stackd. */
  replica: string | null;
  /** For a run made because a stack it depends on changed its outputs: that stack's run. */
  cascadeOf: string | null;
}

/** A run with the engine's output (masked). */
export interface RunWithLog extends Run {
  log: string;
}

/** What the ledger keeps per stack between runs. */
export interface StackRow {
  name: string;
  project: string;
  stack: string;
  appliedRevision: string | null;
  stateVersion: number;
  failures: number;
  retryAt: string | null;
  lastResult: RunStatus | null;
  applyMode: "auto" | "manual";
  /** The stacks this stack's last runs read through StackReference (inferred dependencies). */
  reads: StackRead[];
  /** The sha256 of the stack's outputs after its last up (null before one). */
  outputsDigest: string | null;
  /** How many resources the stack held after its last up. */
  resourceCount: number | null;
  /** Set by a rollback: the stack stays at that revision until unpinned or a new commit affects it. */
  pinned: Pin | null;
  /** When the stack's Pulumi.<stack>.yaml was found gone from the branch (null while it is there). */
  orphanedAt: string | null;
}

/** A stack held at an earlier applied revision by a rollback. */
export interface Pin {
  revision: string;
  /** Who rolled it back (the API token's name). */
  by: string;
  at: string;
  /** The branch head when it was pinned: a later commit that affects the stack ends the pin. */
  head: string;
}

/** One stack another reads through StackReference, as learned from a run's engine events. */
export interface StackRead {
  /** The stack read, as stackd names it (project/stack). */
  stack: string;
  /** The name the program gave the reference (e.g. organization/network/dev). */
  reference: string;
  /** The run that saw it, and when. */
  run: string;
  at: string;
}

/** How a run ended: status, plan, policy results, log. */
export interface RunResult {
  status: RunStatus;
  changes?: ChangeCounts;
  resources?: ResourceChange[];
  policy?: PolicyViolation[];
  error?: string | null;
  log?: string;
  runtime?: string;
  plugins?: UsedPlugin[];
  plan?: { digest: string; checkpoint: string };
}

/** One episode of drift on a stack: opened when first seen, closed when it disappears. */
export interface DriftRecord {
  id: string;
  stack: string;
  status: "open" | "closed";
  /** The applied revision the stack was checked against. */
  revision: string;
  firstSeen: string;
  lastSeen: string;
  timesSeen: number;
  closedAt: string | null;
  /** The check run that last saw it. */
  runId: string;
  resources: ResourceChange[];
}

/** What a drift check changed: a new episode, the same one again, one that ended, or nothing. */
export type DriftTransition = "detected" | "seen-again" | "resolved" | "in-sync";

/** Where a pull request preview is in its life. */
export type PreviewStatus = "queued" | "running" | "completed" | "failed" | "superseded" | "ignored";

/** A pull request's preview: one per push. */
export interface PreviewRecord {
  id: string;
  repo: string;
  pr: number;
  head: string;
  base: string;
  status: PreviewStatus;
  createdAt: string;
  finishedAt: string | null;
  report: Report | null;
  markdown: string | null;
  error: string | null;
  checkRunId: number | null;
  commentId: number | null;
}
