import { resolveBackend } from "../pulumi/index.ts";
import type { Report } from "../report/index.ts";
import { GitSource } from "../source/index.ts";
import { planPreview } from "./preview-plan.ts";
import { CredentialBroker } from "../credentials/index.ts";
import { brokerCredentials, inRunCheckout, runStack, type RunContext } from "./stack-run.ts";

/** `stackd preview`'s inputs. */
export interface PreviewChangeOptions {
  repo: string;
  /** The change's head: a branch, a ref such as refs/pull/7/head, or a sha. */
  ref: string;
  /** The branch it would merge into (default: the repository's default branch). */
  base?: string;
  dataDir: string;
  backend?: string;
  env?: Record<string, string>;
  onProgress?: (line: string) => void;
}

/**
 * Previews every stack a change affects against the stacks' current state,
 * with the policy packs. Applies nothing and writes no state: a stack the
 * change adds is previewed in a scratch backend.
 */
export async function previewChange(opts: PreviewChangeOptions): Promise<Report> {
  const progress = opts.onProgress ?? (() => {});
  const backend = resolveBackend(opts.dataDir, opts.backend, { ...process.env, ...opts.env });
  const source = new GitSource(opts.repo, opts.dataDir);
  progress(`fetching ${source.repo}`);
  await source.fetch();
  const plan = await planPreview(source, opts.ref, opts.base);
  progress(`${opts.ref} is at ${plan.head.slice(0, 12)}, merge base ${plan.mergeBase.slice(0, 12)}; ${plan.changedPaths.length} file(s) changed`);
  progress(`affected: ${plan.entries.map((e) => `${e.project}/${e.stack}`).join(", ") || "no stack"}`);
  const broker = new CredentialBroker({ ...process.env, ...opts.env });
  const ctx: RunContext = {
    checkout: plan.checkout,
    revision: plan.head,
    settings: plan.settings,
    backend,
    env: opts.env,
    installs: new Map(),
    progress,
    credentials: brokerCredentials(broker, plan.settings),
  };
  const stacks = await inRunCheckout(source, ctx, async (run) => {
    const reports = [];
    for (const entry of plan.entries) {
      const { log: _log, ...report } = await runStack(entry, run, "preview", { scratchBackendForNewStacks: true, purpose: "pull-request", reportPlan: true });
      reports.push(report);
    }
    return reports;
  });
  return { revision: plan.head, base: plan.mergeBase, stacks };
}
