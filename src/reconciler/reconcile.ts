import { discoverStacks } from "../catalog/index.ts";
import { resolveBackend } from "../pulumi/index.ts";
import type { Report } from "../report/index.ts";
import { GitSource } from "../source/index.ts";
import { runStack, type RunContext } from "./stack-run.ts";

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
  const ctx: RunContext = { checkout, backend, env: opts.env, installs: new Map(), progress };
  const stacks = [];
  for (const entry of entries) {
    const { log: _log, ...report } = await runStack(entry, ctx, "apply");
    stacks.push(report);
  }
  return { revision, stacks };
}
