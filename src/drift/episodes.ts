import type { Async, DriftRecord, DriftRepository, DriftTransition } from "../ledger/index.ts";
import type { ResourceChange } from "../report/index.ts";
import { shortHash } from "../support/index.ts";

/** Identifies "the same drift": which resources, which properties, which values. */
export function driftFingerprint(drifted: ResourceChange[]): string {
  const canonical = [...drifted].sort((a, b) => a.urn.localeCompare(b.urn)).map((r) => [r.urn, r.op, r.drift ?? []]);
  return shortHash(JSON.stringify(canonical));
}

/**
 * Folds a drift check into the stack's drift episode: the same drift again
 * only bumps lastSeen/timesSeen; different drift closes the old episode and
 * opens a new one; no drift closes what was open.
 */
export async function recordDriftCheck(
  repo: Async<DriftRepository>,
  stack: string,
  check: { revision: string; runId: string; drifted: ResourceChange[] },
): Promise<{ transition: DriftTransition; record?: DriftRecord }> {
  const at = new Date().toISOString();
  await repo.recordCheck(stack, at, check.drifted.length > 0);
  const open = await repo.openEpisode(stack);
  if (check.drifted.length === 0) {
    if (!open) return { transition: "in-sync" };
    await repo.closeEpisode(open.id, at);
    return { transition: "resolved", record: await repo.get(open.id) };
  }
  const fingerprint = driftFingerprint(check.drifted);
  if (open && open.fingerprint === fingerprint) {
    await repo.touchEpisode(open.id, at, check.runId);
    return { transition: "seen-again", record: await repo.get(open.id) };
  }
  if (open) await repo.closeEpisode(open.id, at);
  return { transition: "detected", record: await repo.insertEpisode({ stack, fingerprint, revision: check.revision, at, runId: check.runId, resources: check.drifted }) };
}
