import { discoverStacks, loadSettings, type Settings, type StackEntry } from "../catalog/index.ts";
import { affectedStacks } from "./affected.ts";
import type { GitSource } from "../source/index.ts";
import { StackdError } from "../support/index.ts";

/** What a change (head against its base branch) asks to preview. */
export interface PreviewPlan {
  head: string;
  mergeBase: string;
  checkout: string;
  settings: Settings;
  /** The stacks the diff from the merge base to the head affects. */
  entries: StackEntry[];
  changedPaths: string[];
}

/**
 * Resolves a change: its head, where it left the base branch, the files it
 * touches and so the stacks it affects, with the head's own stackd.yaml.
 */
export async function planPreview(source: GitSource, ref: string, base?: string): Promise<PreviewPlan> {
  const head = await source.resolve(ref);
  const baseRevision = base ? await source.resolve(base.startsWith("refs/") ? base : `refs/heads/${base}`).catch(() => source.resolve(base)) : (await source.head()).revision;
  const mergeBase = await source.mergeBase(baseRevision, head);
  const changedPaths = await source.changedPaths(mergeBase, head);
  const checkout = await source.checkout(head);
  const loaded = loadSettings(checkout);
  if (!loaded.ok) throw new StackdError(loaded.error, { kind: "config" });
  const all = discoverStacks(checkout);
  const affected = affectedStacks(all, loaded.settings, changedPaths);
  return {
    head,
    mergeBase,
    checkout,
    settings: loaded.settings,
    entries: all.filter((e) => affected.has(`${e.project}/${e.stack}`)),
    changedPaths,
  };
}
