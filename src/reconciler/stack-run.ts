import path from "node:path";
import type { StackEntry } from "../catalog/index.ts";
import { installDependencies, runOperation, type BackendSettings } from "../pulumi/index.ts";
import { emptyCounts, type StackReport } from "../report/index.ts";
import { messageOf } from "../support/index.ts";

/** Everything one stack's operations need besides the stack itself. */
export interface RunContext {
  checkout: string;
  backend: BackendSettings;
  env?: Record<string, string>;
  /** Dependency installs in flight or done, per project directory, shared by the stacks of a project. */
  installs: Map<string, Promise<unknown>>;
  progress: (line: string) => void;
  signal?: AbortSignal;
}

/**
 * apply: preview, then up when the preview shows changes.
 * preview: preview only (status "previewed" when there are changes).
 * up: up directly (an approved preview).
 */
export type RunMode = "apply" | "preview" | "up";

export interface StackOutcome extends StackReport {
  log: string;
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

export function hasChanges(r: { changes: StackReport["changes"] }): boolean {
  const c = r.changes;
  return c.create + c.update + c.replace + c.delete > 0;
}

/** Runs one stack at the checked-out revision. Never throws: failures are outcomes. */
export async function runStack(entry: StackEntry, ctx: RunContext, mode: RunMode): Promise<StackOutcome> {
  const name = `${entry.project}/${entry.stack}`;
  const base = { project: entry.project, stack: entry.stack, policy: [], log: "" };
  const failed = (error: string): StackOutcome => ({ ...base, status: "failed", changes: emptyCounts(), resources: [], error });
  if (entry.error) return failed(entry.error);
  const workDir = path.join(ctx.checkout, entry.projectDir);
  if (entry.runtime === "nodejs") {
    if (!ctx.installs.has(workDir)) ctx.installs.set(workDir, installDependencies(workDir, entry.projectDir, ctx.progress));
    try {
      await ctx.installs.get(workDir);
    } catch (err) {
      return failed(messageOf(err));
    }
  }
  const target = { workDir, programDir: entry.programDir, stack: entry.stack, ...ctx.backend, env: ctx.env };
  const opts = { signal: ctx.signal };
  let log = "";
  if (mode !== "up") {
    ctx.progress(`${name}: previewing`);
    const preview = await runOperation(target, "preview", opts);
    log += preview.log;
    const outcome = { ...base, changes: preview.changes, resources: preview.resources, log };
    if (!preview.ok) return { ...outcome, status: "failed", error: locate(entry, preview.error) };
    if (!hasChanges(preview)) {
      ctx.progress(`${name}: no changes`);
      return { ...outcome, status: "unchanged", error: null };
    }
    if (mode === "preview") {
      ctx.progress(`${name}: previewed`);
      return { ...outcome, status: "previewed", error: null };
    }
  }
  ctx.progress(`${name}: applying`);
  const up = await runOperation(target, "up", opts);
  log += up.log;
  const error = up.ok ? null : locate(entry, up.error);
  ctx.progress(`${name}: ${error ? `failed: ${error}` : "applied"}`);
  return { ...base, status: error ? "failed" : "applied", changes: up.changes, resources: up.resources, error, log };
}
