import { discoverStacks, loadSettings } from "../catalog/index.ts";
import { resolveBackend } from "../pulumi/index.ts";
import type { Report } from "../report/index.ts";
import { StackdError } from "../support/index.ts";
import { GitSource } from "../source/index.ts";
import { CredentialBroker } from "../credentials/index.ts";
import { brokerCredentials, inRunCheckout, runStack, type RunContext } from "./stack-run.ts";

/** One reconcile pass: which repository, ref, mode and stacks. */
export interface ReconcileOptions {
  repo: string;
  branch?: string;
  /** A ref to check out instead of the branch head (branch, tag or sha). */
  ref?: string;
  /** apply (default) previews and applies; preview only previews, with the policy packs; drift checks for drift. */
  mode?: "apply" | "preview" | "drift";
  /** Only these stacks ("project/stack" or "stack"). */
  stacks?: string[];
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
  const backend = resolveBackend(opts.dataDir, opts.backend, { ...process.env, ...opts.env });
  const source = new GitSource(opts.repo, opts.dataDir);
  progress(`fetching ${source.repo}`);
  await source.fetch();
  let revision: string;
  if (opts.ref) {
    revision = await source.resolve(opts.ref);
    progress(`${opts.ref} is at ${revision.slice(0, 12)}`);
  } else {
    const head = await source.head(opts.branch);
    revision = head.revision;
    progress(`${head.branch} is at ${revision.slice(0, 12)}`);
  }
  const checkout = await source.checkout(revision);
  const loaded = loadSettings(checkout);
  if (!loaded.ok) throw new StackdError(loaded.error, { kind: "config" });
  const wanted = opts.stacks;
  const entries = discoverStacks(checkout).filter((e) => !wanted || wanted.some((w) => w === e.stack || w === `${e.project}/${e.stack}`));
  if (wanted && entries.length === 0) throw new StackdError(`no stack named ${wanted.join(", ")} at ${revision.slice(0, 12)}`, { kind: "usage" });
  progress(`found ${entries.length} stack(s): ${entries.map((e) => `${e.project}/${e.stack}`).join(", ") || "none"}`);
  const broker = new CredentialBroker({ ...process.env, ...opts.env });
  const ctx: RunContext = {
    checkout,
    revision,
    settings: loaded.settings,
    backend,
    env: opts.env,
    installs: new Map(),
    progress,
    credentials: brokerCredentials(broker, loaded.settings),
  };
  const stacks = await inRunCheckout(source, ctx, async (run) => {
    const reports = [];
    for (const entry of entries) {
      const { log: _log, ...report } = await runStack(entry, run, opts.mode ?? "apply");
      reports.push(report);
    }
    return reports;
  });
  return { revision, stacks };
}
