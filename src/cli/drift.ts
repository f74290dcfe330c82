import { reconcile } from "../reconciler/index.ts";
import { progressToStderr, requireFormat, writeReport } from "./output.ts";

export interface DriftFlags {
  repo: string;
  branch?: string;
  stack?: string[];
  backend?: string;
  dataDir: string;
  format: string;
}

/**
 * `stackd drift`: a one-off, read-only drift check of the stacks' state
 * against the cloud. Exit 0 no drift, 2 drift, 1 error.
 */
export async function driftCommand(flags: DriftFlags): Promise<number> {
  const format = requireFormat(flags.format, ["text", "json"] as const);
  const report = await reconcile({
    repo: flags.repo,
    branch: flags.branch,
    backend: flags.backend,
    dataDir: flags.dataDir,
    stacks: flags.stack,
    mode: "drift",
    onProgress: progressToStderr,
  });
  writeReport(report, format);
  if (report.stacks.some((s) => s.status === "failed")) return 1;
  return report.stacks.some((s) => s.status === "drifted") ? 2 : 0;
}
