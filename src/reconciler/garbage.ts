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
  bytesFreed: number;
}

/** An engine event log the Automation API did not get to remove (its operation was killed) is stale after this. */
const STALE_TEMP_MS = 2 * 3_600_000;

/** Revisions something still needs: the head, every stack's applied revision, runs queued, running or awaiting approval. */
export function revisionsInUse(ledger: Ledger, head: string | null): Set<string> {
  const keep = new Set<string>(head ? [head] : []);
  for (const s of ledger.stacks.list()) if (s.appliedRevision) keep.add(s.appliedRevision);
  for (const status of ["queued", "running", "awaiting_approval"] as const) {
    for (const r of ledger.runs.list({ status, limit: 1000 })) keep.add(r.revision);
  }
  return keep;
}

/** Engine event logs left in the temp dir by operations that were killed. */
function staleEngineTemp(): number {
  let removed = 0;
  const tmp = os.tmpdir();
  for (const d of fs.readdirSync(tmp)) {
    if (!d.startsWith("automation-logs-")) continue;
    const dir = path.join(tmp, d);
    try {
      if (Date.now() - fs.statSync(dir).mtimeMs < STALE_TEMP_MS) continue;
      fs.rmSync(dir, { recursive: true, force: true });
      removed++;
    } catch {
      // removed meanwhile
    }
  }
  return removed;
}

/**
 * Keeps a data dir bounded: worktrees of revisions nothing needs, ledger
 * rows past their retention (runs, logs, closed drift episodes, previews)
 * and stale engine temp dirs are removed; the ledger gives the space back.
 */
export async function collectGarbage(o: {
  ledger: Ledger;
  source: GitSource;
  dataDir: string;
  head: string | null;
  retention: { runs: number; logs: number };
}): Promise<GcReport> {
  const before = dirSize(o.dataDir);
  const worktrees = (await o.source.pruneWorktrees(revisionsInUse(o.ledger, o.head))).length;
  const cutoff = (ms: number) => new Date(Date.now() - ms).toISOString();
  const { runs, logs } = o.ledger.runs.prune(cutoff(o.retention.runs), cutoff(o.retention.logs));
  const driftEpisodes = o.ledger.drift.prune(cutoff(o.retention.runs));
  const previews = o.ledger.previews.prune(cutoff(o.retention.runs));
  o.ledger.compact();
  const tempDirs = staleEngineTemp();
  return { worktrees, runs, logs, driftEpisodes, previews, tempDirs, bytesFreed: Math.max(0, before - dirSize(o.dataDir)) };
}
