// The ledger's contract: one repository per concern. node:sqlite implements it
// today (sqlite/); another store implements the same interfaces.
import type { ResourceChange } from "../report/index.ts";
import type {
  DriftRecord,
  Pin,
  PreviewRecord,
  PreviewStatus,
  Run,
  RunKind,
  RunResult,
  RunStatus,
  RunWithLog,
  StackRead,
  StackRow,
  Trigger,
} from "./types.ts";
import type { LedgerRestore, LedgerRow } from "./transfer.ts";

/** Every run of every stack: created queued, started, finished with its plan and log. */
export interface RunsRepository {
  create(r: { stack: string; revision: string; kind: RunKind; trigger: Trigger; status?: RunStatus; approvalOf?: string; requestedBy?: string; cascadeOf?: string }): Run;
  start(id: string, stateVersion: number): void;
  /** Takes a queued run for a replica (marks it running); false when it is no longer queued or another took it. */
  claim(id: string, replica: string): boolean;
  /** Marks a run skipped (with why) if it is still queued; false when it was taken or settled meanwhile. */
  skipQueued(id: string, reason: string): boolean;
  finish(id: string, result: RunResult): void;
  /** Sets a status (and, when given, the reason) without touching the plan. */
  setStatus(id: string, status: RunStatus, error?: string): void;
  get(id: string): RunWithLog | undefined;
  /** Newest first; `offset` skips that many of the newest (paging). */
  list(filter?: { stack?: string; limit?: number; offset?: number; status?: RunStatus }): Run[];
  /** Every stack's newest runs (at most `perStack` each, newest first), by stack: one read for all stacks' statuses. */
  recent(perStack: number): Map<string, Run[]>;
  /** The newest run of a stack at one revision. */
  latest(stack: string, revision: string): Run | undefined;
  /** Runs a crash left running are marked interrupted (and returned); queued ones skipped. */
  interruptRunning(reason: string): Run[];
  /**
   * Retention: runs finished before `runsBefore` are deleted (each stack's
   * newest run and previews awaiting approval stay), logs of runs finished
   * before `logsBefore` are dropped. Returns how many of each.
   */
  prune(runsBefore: string, logsBefore: string): { runs: number; logs: number };
}

/** What stackd keeps per stack between runs: applied revision, state version, failure streak. */
export interface StacksRepository {
  upsert(s: { name: string; project: string; stack: string; applyMode: "auto" | "manual" }): void;
  get(name: string): StackRow | undefined;
  list(): StackRow[];
  /** A finished run's effect on its stack. */
  recordOutcome(
    name: string,
    o: { applied?: string; stateChanged?: boolean; failed: boolean; failures?: number; result: RunStatus; retryAt?: string | null; keepFailures?: boolean },
  ): void;
  /** Clears a failure streak (new commit or manual retry). */
  resetFailures(name: string): void;
  /** What an up left: the sha256 of the stack's outputs and how many resources it holds. */
  recordOutputs(name: string, digest: string, resourceCount: number): void;
  /** The stacks a stack reads through StackReference (its inferred dependencies). */
  recordReads(name: string, reads: StackRead[]): void;
  /** Pins a stack at an earlier revision (a rollback), or with null follows the branch again. */
  pin(name: string, pin: Pin | null): void;
  /** Notes that the stack's file left the branch (kept from the first time it was seen gone); upsert clears it. */
  markOrphaned(name: string, at: string): void;
  /** Forgets a stack that was destroyed and removed (its runs stay in the ledger). */
  remove(name: string): void;
}

/** Drift checks and drift episodes as stored; drift/ decides what a check means. */
export interface DriftRepository {
  /** Notes that a stack was checked, and whether drift was seen. */
  recordCheck(stack: string, at: string, drifted: boolean): void;
  /** Every stack's last check, by stack. */
  lastChecks(): Map<string, { checkedAt: string; drifted: boolean }>;
  /** The stack's open episode with its fingerprint, if any. */
  openEpisode(stack: string): (DriftRecord & { fingerprint: string }) | undefined;
  insertEpisode(e: { stack: string; fingerprint: string; revision: string; at: string; runId: string; resources: ResourceChange[] }): DriftRecord;
  /** The same drift seen again by another check. */
  touchEpisode(id: string, at: string, runId: string): void;
  closeEpisode(id: string, at: string): void;
  get(id: string): DriftRecord | undefined;
  /** Newest first. */
  list(filter?: { stack?: string; status?: "open" | "closed"; limit?: number }): DriftRecord[];
  /** Deletes episodes closed before `before`; returns how many. */
  prune(before: string): number;
}

/** Previews awaiting a person's decision, and the decisions. */
export interface ApprovalsRepository {
  /** A stack's previews still awaiting approval. */
  pending(stack: string): Run[];
  /** Marks a preview approved, recording who approved it. */
  approve(runId: string, by: string): void;
  /** Marks a preview rejected: its plan is never applied. */
  reject(runId: string, by: string): void;
  supersede(runId: string, reason: string): void;
}

/** Pull request previews: one record per push of a pull request. */
export interface PreviewsRepository {
  create(p: { repo: string; pr: number; head: string; base: string; status?: PreviewStatus; error?: string }): PreviewRecord;
  update(id: string, f: { status?: PreviewStatus; report?: unknown; markdown?: string; error?: string; checkRunId?: number; commentId?: number }): void;
  get(id: string): PreviewRecord | undefined;
  /** Newest first. */
  list(filter?: { repo?: string; pr?: number; limit?: number }): PreviewRecord[];
  /** Deletes previews finished before `before`; returns how many. */
  prune(before: string): number;
}

/** Webhook deliveries already accepted, so a replayed one is recognised (kept 24 h). */
export interface DeliveriesRepository {
  /** Records a delivery ID; false when it was seen before. */
  accept(id: string): boolean;
}

/** Small facts the service keeps across restarts (the branch head, its own URL). */
export interface MetaRepository {
  get(key: string): string | undefined;
  set(key: string, value: string): void;
  delete(key: string): void;
}

/** The embedded store (node:sqlite answers at once): every repository as it is. */
export interface LedgerStore {
  readonly runs: RunsRepository;
  readonly stacks: StacksRepository;
  readonly drift: DriftRepository;
  readonly approvals: ApprovalsRepository;
  readonly previews: PreviewsRepository;
  readonly meta: MetaRepository;
  readonly deliveries: DeliveriesRepository;
  /**
   * A token that changes whenever anything in the ledger changes, written by
   * this process or another: what is derived from the ledger alone can be
   * reused while it stays the same.
   */
  version(): string;
  /** The schema version the store is at after its migrations ran. */
  readonly schemaVersion: number;
  /** Gives the space of deleted rows back to the file system. */
  compact(): void;
  /** Every row of every table: what `stackd ledger export` writes. */
  dump(): Iterable<LedgerRow>;
  /** Fills this ledger, which must hold no stacks, runs or drift yet, from an export (see LedgerRestore). */
  restore(): LedgerRestore;
  close(): void;
}

/**
 * A repository whose every method answers through a promise: how stackd uses
 * every store, so that a store across the network (PostgreSQL) keeps the same
 * contract as the embedded one.
 */
export type Async<T> = { readonly [K in keyof T]: T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : T[K] };

/** The durable record of everything stackd does, one repository per concern, as stackd uses it. */
export interface Ledger {
  readonly runs: Async<RunsRepository>;
  readonly stacks: Async<StacksRepository>;
  readonly drift: Async<DriftRepository>;
  readonly approvals: Async<ApprovalsRepository>;
  readonly previews: Async<PreviewsRepository>;
  readonly meta: Async<MetaRepository>;
  readonly deliveries: Async<DeliveriesRepository>;
  /** See LedgerStore.version. */
  version(): Promise<string>;
  readonly schemaVersion: number;
  compact(): Promise<void>;
  dump(): AsyncIterable<LedgerRow>;
  restore(): Promise<Async<LedgerRestore>>;
  close(): Promise<void>;
}
