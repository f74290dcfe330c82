import path from "node:path";
import { defaultSettings, discoverStacks, loadSettings, settingsFor, type Settings, type StackEntry } from "../catalog/index.ts";
import type { Ledger } from "../ledger/index.ts";
import type { GitSource } from "../source/index.ts";
import { messageOf } from "../support/index.ts";
import { nameOf, type Head, type ServiceOptions } from "./context.ts";
import type { Logger } from "./logger.ts";

/**
 * Follows the watched branch: fetches, checks a new head out, reads its
 * stackd.yaml (a broken one keeps the last good settings in force) and its
 * stacks, and registers them in the ledger.
 */
export class HeadTracker {
  head: Head | null = null;
  settings: Settings = defaultSettings();
  settingsError: string | null = null;
  entries: StackEntry[] = [];
  lastSyncError: string | null = null;
  private readonly deps: { opts: ServiceOptions; source: GitSource; ledger: Ledger; log: Logger; onLoad: (head: Head) => void };

  constructor(deps: HeadTracker["deps"]) {
    this.deps = deps;
  }

  /** The branch stackd follows: --branch, stackd.yaml's branch, else the default branch. */
  private branch(): string | undefined {
    return this.head?.branch ?? this.deps.opts.branch ?? this.settings.branch;
  }

  /** Whether the remote branch moved since the last sync (one ls-remote); null when it cannot be asked. */
  async remoteMoved(): Promise<boolean | null> {
    const branch = this.branch();
    if (!branch || !this.head) return true;
    try {
      const remote = await this.deps.source.remoteHead(branch);
      this.lastSyncError = null;
      return remote !== this.head.revision;
    } catch (err) {
      this.lastSyncError = messageOf(err);
      this.deps.log.warn({ err: this.lastSyncError }, "poll failed");
      return null;
    }
  }

  /** Fetches and, when the branch moved, loads the new head. */
  async fetch(): Promise<Head> {
    try {
      await this.deps.source.fetch();
      const { branch, revision } = await this.deps.source.head(this.deps.opts.branch ?? this.settings.branch);
      this.lastSyncError = null;
      if (revision !== this.head?.revision) await this.load(branch, revision);
      return this.head!;
    } catch (err) {
      this.lastSyncError = messageOf(err);
      throw err;
    }
  }

  private async load(branch: string, revision: string): Promise<void> {
    const { opts, source, ledger, log } = this.deps;
    const checkout = await source.checkout(revision);
    const loaded = loadSettings(checkout, opts.settingsFile ? path.resolve(opts.settingsFile) : undefined);
    if (loaded.ok) {
      this.settings = loaded.settings;
      this.settingsError = null;
    } else {
      this.settingsError = `${loaded.error} (at ${revision.slice(0, 12)}; the last good settings stay in force)`;
      log.error({ err: this.settingsError }, "invalid stackd.yaml");
    }
    this.entries = discoverStacks(checkout);
    for (const e of this.entries) {
      await ledger.stacks.upsert({ name: nameOf(e), project: e.project, stack: e.stack, applyMode: settingsFor(this.settings, e.project, e.stack).apply });
    }
    this.head = { branch, revision, checkout };
    await ledger.meta.set("head", JSON.stringify({ branch, revision }));
    log.info({ branch, revision, stacks: this.entries.length }, "new head");
    this.deps.onLoad(this.head);
  }

  /** A stack of the head by "project/stack" or bare stack name. */
  find(name: string): StackEntry | undefined {
    return this.entries.find((e) => nameOf(e) === name || e.stack === name);
  }

  /**
   * The settings a revision declares: a run at an older revision (a drift
   * check of the applied revision) runs with that revision's settings; the
   * head's when it is the head, or when the older file is unreadable.
   */
  settingsAt(revision: string, checkout: string): Settings {
    if (revision === this.head?.revision || this.deps.opts.settingsFile) return this.settings;
    const loaded = loadSettings(checkout);
    return loaded.ok ? loaded.settings : this.settings;
  }
}
