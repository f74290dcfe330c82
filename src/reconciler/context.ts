// What the service's collaborators share: the ledger, the repository, the
// queue and the head, wired once by the controller.
import type { EventEmitter } from "node:events";
import type { Settings, StackEntry } from "../catalog/index.ts";
import type { CredentialBroker } from "../credentials/index.ts";
import type { Ledger, Trigger } from "../ledger/index.ts";
import type { Notifier } from "../notify/index.ts";
import type { GitHubSettings } from "../previews/index.ts";
import type { BackendSettings } from "../pulumi/index.ts";
import type { GitSource, RepoCredentialOptions } from "../source/index.ts";
import type { Logger } from "./logger.ts";
import type { Job, WorkQueue } from "./queue.ts";
import type { RunMode } from "./stack-run.ts";

/** How `stackd serve` is started. */
export interface ServiceOptions {
  repo: string;
  /** How git authenticates to the repository (a token, an SSH deploy key); else from STACKD_GIT_* variables. */
  gitCredentials?: RepoCredentialOptions;
  branch?: string;
  dataDir: string;
  /**
   * A PostgreSQL URL for the ledger; none keeps it in the data dir (SQLite).
   * With one, this process is a replica: runs go through the queue replicas
   * share, the leader polls, schedules fire once across them.
   */
  database?: string;
  /** How this replica is named and how long its lease lasts (with `database`). */
  replica?: { name?: string; leaseSeconds?: number };
  backend?: string;
  env?: Record<string, string>;
  /** Overrides stackd.yaml's pollInterval. */
  pollIntervalMs?: number;
  /** Overrides stackd.yaml's parallelism. */
  parallelism?: number;
  /** A stackd.yaml outside the repository, used instead of the one in it. */
  settingsFile?: string;
  /** Report pull request previews to GitHub (check run + one comment per PR). */
  github?: GitHubSettings;
  logger: Logger;
}

/** One queued run of one stack. */
export interface StackJob extends Job {
  runId: string;
  entry: StackEntry;
  revision: string;
  mode: RunMode;
  refresh: boolean;
  trigger: Trigger;
}

/** Why a running run was aborted: a person cancelled it, or the service is stopping. */
export type AbortReason = { kind: "cancel"; by: string } | { kind: "stop" } | { kind: "fenced"; why: string };

/** The branch head the service follows, as checked out and read. */
export interface Head {
  branch: string;
  revision: string;
  checkout: string;
}

/** What every collaborator of the controller may use. */
export interface ServiceContext {
  readonly opts: ServiceOptions;
  readonly ledger: Ledger;
  readonly source: GitSource;
  readonly log: Logger;
  /** This process's queue: every run of a single stackd, pull request previews of a replica. */
  readonly queue: WorkQueue<StackJob | Job>;
  /** Queues a run: on the in-process queue, or on the queue replicas share. */
  push(job: StackJob): Promise<void>;
  /** Whether a stack has a run queued or running (anywhere in the cluster, with replicas). */
  busy(stack: string): Promise<boolean>;
  /** With replicas: where a preview's update plan is kept so that any replica can apply it. */
  readonly plans: { keep(runId: string, content: string): Promise<void>; get(runId: string): Promise<string | null> } | null;
  readonly broker: CredentialBroker;
  readonly notifier: Notifier;
  readonly events: EventEmitter;
  /** Dependency installs and plugin lookups in flight or done, shared by every run. */
  readonly installs: Map<string, Promise<unknown>>;
  /** The running runs' abort switches, by run id. */
  readonly aborts: Map<string, AbortController>;
  /** The head and what it declares; null before the first sync. */
  head(): Head | null;
  /** The head's settings (the last good ones when its stackd.yaml is broken). */
  settings(): Settings;
  entries(): StackEntry[];
  backend(): BackendSettings;
  pollIntervalMs(): number;
}

/** "project/stack": how the ledger, the queue and people name a stack. */
export function nameOf(e: StackEntry): string {
  return `${e.project}/${e.stack}`;
}
