import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Ledger } from "../ledger/index.ts";
import type { GitSource } from "../source/index.ts";
import { dirSize } from "../support/index.ts";

/** What a garbage collection freed. */
export interface GcReport {
  worktrees: number;
  runs: number;
  logs: number;
  driftEpisodes: number;
  previews: number;
  tempDirs: number;
  /** Saved update plans no approval can use any more. */
  plans: number;
  bytesFreed: number;
}

/** An event log younger than this may belong to an operation that is only starting. */
const FRESH_MS = 60_000;

/** Every file some process on the machine holds open (Linux /proc). */
function openFiles(): Set<string> {
  const open = new Set<string>();
  for (const pid of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
        try {
          open.add(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
        } catch {
          // closed meanwhile
        }
      }
    } catch {
      // gone, or not ours to read
    }
  }
  return open;
}

/** Revisions something still needs: the head, every stack's applied revision, runs queued, running or awaiting approval. */
export async function revisionsInUse(ledger: Ledger, head: string | null): Promise<Set<string>> {
  const keep = new Set<string>(head ? [head] : []);
  for (const s of await ledger.stacks.list()) if (s.appliedRevision) keep.add(s.appliedRevision);
  for (const status of ["queued", "running", "awaiting_approval"] as const) {
    for (const r of await ledger.runs.list({ status, limit: 1000 })) keep.add(r.revision);
  }
  return keep;
}

/**
 * The Automation API's engine event logs (automation-logs-* in the temp dir)
 * that no process holds open any more: an operation that was killed leaves
 * its log behind. Run after every run and by garbage collection.
 */
export function sweepEngineTemp(): number {
  const tmp = os.tmpdir();
  // Only logs old enough to be left behind are worth the look at every open file on the machine.
  const candidates = fs
    .readdirSync(tmp)
    .filter((d) => d.startsWith("automation-logs-"))
    .map((d) => path.join(tmp, d))
    .filter((dir) => {
      try {
        return Date.now() - fs.statSync(dir).mtimeMs >= FRESH_MS;
      } catch {
        return false;
      }
    });
  if (candidates.length === 0) return 0;
  const open = openFiles();
  let removed = 0;
  for (const dir of candidates) {
    try {
      if (fs.readdirSync(dir).some((f) => open.has(path.join(dir, f)))) continue;
      fs.rmSync(dir, { recursive: true, force: true });
      removed++;
    } catch {
      // removed meanwhile
    }
  }
  return removed;
}

/**
 * Removes saved update plans (`<data dir>/plans/<run id>.json`) that no
 * approval can use: kept only while their preview awaits approval or the
 * approved up that applies them is queued or running.
 */
async function prunePlans(ledger: Ledger, dataDir: string): Promise<number> {
  const dir = path.join(dataDir, "plans");
  if (!fs.existsSync(dir)) return 0;
  const keep = new Set((await ledger.runs.list({ status: "awaiting_approval", limit: 100_000 })).map((r) => r.id));
  for (const status of ["queued", "running"] as const) {
    for (const r of await ledger.runs.list({ status, limit: 100_000 })) if (r.approvalOf) keep.add(r.approvalOf);
  }
  let removed = 0;
  for (const f of fs.readdirSync(dir)) {
    if (keep.has(f.replace(/\.json$/, ""))) continue;
    fs.rmSync(path.join(dir, f), { force: true });
    removed++;
  }
  return removed;
}

/**
 * Keeps a data dir bounded: worktrees of revisions nothing needs, ledger
 * rows past their retention (runs, logs, closed drift episodes, previews),
 * stale engine temp dirs and update plans no approval can use are removed; the ledger gives the space back.
 */
export async function collectGarbage(o: {
  ledger: Ledger;
  source: GitSource;
  dataDir: string;
  head: string | null;
  retention: { runs: number; logs: number };
}): Promise<GcReport> {
  const before = dirSize(o.dataDir);
  const worktrees = (await o.source.pruneWorktrees(await revisionsInUse(o.ledger, o.head))).length;
  const cutoff = (ms: number) => new Date(Date.now() - ms).toISOString();
  const { runs, logs } = await o.ledger.runs.prune(cutoff(o.retention.runs), cutoff(o.retention.logs));
  const driftEpisodes = await o.ledger.drift.prune(cutoff(o.retention.runs));
  const previews = await o.ledger.previews.prune(cutoff(o.retention.runs));
  await o.ledger.compact();
  const tempDirs = sweepEngineTemp();
  const plans = await prunePlans(o.ledger, o.dataDir);
  return { worktrees, runs, logs, driftEpisodes, previews, tempDirs, plans, bytesFreed: Math.max(0, before - dirSize(o.dataDir)) };
}
