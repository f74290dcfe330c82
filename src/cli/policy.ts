import { reconcile } from "../reconciler/index.ts";
import { progressToStderr, requireFormat, writeReport } from "./output.ts";

export interface PolicyCheckFlags {
  repo: string;
  ref?: string;
  backend?: string;
  dataDir: string;
  format: string;
}

/**
 * `stackd policy check`: previews every stack with the policy packs and
 * applies nothing. Exit 0 clean (advisory allowed), 2 mandatory violations, 1 error.
 */
export async function policyCheckCommand(flags: PolicyCheckFlags): Promise<number> {
  const format = requireFormat(flags.format, ["text", "json"] as const);
  const report = await reconcile({
    repo: flags.repo,
    ref: flags.ref,
    backend: flags.backend,
    dataDir: flags.dataDir,
    mode: "preview",
    onProgress: progressToStderr,
  });
  writeReport(report, format);
  if (report.stacks.some((s) => s.status === "failed")) return 1;
  return report.stacks.some((s) => s.status === "blocked") ? 2 : 0;
}
