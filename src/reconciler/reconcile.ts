import path from "node:path";
import { discoverStacks, type StackEntry } from "../catalog/index.ts";
import { installDependencies, resolveBackend, runOperation, type BackendSettings } from "../pulumi/index.ts";
import { emptyCounts, type Report, type StackReport } from "../report/index.ts";
import { GitSource } from "../source/index.ts";
import { messageOf } from "../support/index.ts";

export interface ReconcileOptions {
  repo: string;
  branch?: string;
  backend?: string;
  dataDir: string;
  /** Extra environment for every Pulumi operation (cloud endpoint, credentials). */
  env?: Record<string, string>;
  onProgress?: (line: string) => void;
}

/**
 * Engine errors about stack configuration rarely name the file; the stack's
 * config file is where the fix goes, so say so.
 */
function locate(entry: StackEntry, error: string | undefined): string | null {
  if (!error) return null;
  if (/config/i.test(error) && !error.includes(entry.configFile)) return `${entry.configFile}: ${error}`;
  return error;
}

function failed(entry: StackEntry, error: string): StackReport {
  return { project: entry.project, stack: entry.stack, status: "failed", changes: emptyCounts(), resources: [], policy: [], error };
}

function hasChanges(r: { changes: StackReport["changes"] }): boolean {
  const c = r.changes;
  return c.create + c.update + c.replace + c.delete > 0;
}

/** Previews one stack and, when the preview shows changes, applies it. */
async function reconcileStack(
  entry: StackEntry,
  checkout: string,
  backend: BackendSettings,
  env: Record<string, string> | undefined,
  installs: Map<string, Promise<unknown>>,
  progress: (line: string) => void,
): Promise<StackReport> {
  const name = `${entry.project}/${entry.stack}`;
  if (entry.error) return failed(entry, entry.error);
  const workDir = path.join(checkout, entry.projectDir);
  if (entry.runtime === "nodejs") {
    if (!installs.has(workDir)) installs.set(workDir, installDependencies(workDir, entry.projectDir, progress));
    try {
      await installs.get(workDir);
    } catch (err) {
      return failed(entry, messageOf(err));
    }
  }
  const target = { workDir, programDir: entry.programDir, stack: entry.stack, ...backend, env };
  progress(`${name}: previewing`);
  const preview = await runOperation(target, "preview");
  const base = { project: entry.project, stack: entry.stack, policy: [] };
  if (!preview.ok) return { ...base, status: "failed", changes: preview.changes, resources: preview.resources, error: locate(entry, preview.error) };
  if (!hasChanges(preview)) {
    progress(`${name}: no changes`);
    return { ...base, status: "unchanged", changes: preview.changes, resources: preview.resources, error: null };
  }
  progress(`${name}: applying`);
  const up = await runOperation(target, "up");
  const error = up.ok ? null : locate(entry, up.error);
  progress(`${name}: ${error ? `failed: ${error}` : "applied"}`);
  return { ...base, status: error ? "failed" : "applied", changes: up.changes, resources: up.resources, error };
}

/**
 * One pass of GitOps: fetch the repository, check the branch head out, find
 * its stacks, and bring each one to what that revision declares. A failing
 * stack never stops the others.
 */
export async function reconcile(opts: ReconcileOptions): Promise<Report> {
  const progress = opts.onProgress ?? (() => {});
  const backend = resolveBackend(opts.dataDir, opts.backend);
  const source = new GitSource(opts.repo, opts.dataDir);
  progress(`fetching ${source.repo}`);
  await source.fetch();
  const { branch, revision } = await source.head(opts.branch);
  progress(`${branch} is at ${revision.slice(0, 12)}`);
  const checkout = await source.checkout(revision);
  const entries = discoverStacks(checkout);
  progress(`found ${entries.length} stack(s): ${entries.map((e) => `${e.project}/${e.stack}`).join(", ") || "none"}`);
  const installs = new Map<string, Promise<unknown>>();
  const stacks: StackReport[] = [];
  for (const entry of entries) stacks.push(await reconcileStack(entry, checkout, backend, opts.env, installs, progress));
  return { revision, stacks };
}
