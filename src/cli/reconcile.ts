import { reconcile } from "../reconciler/index.ts";
import { isFailure } from "../report/index.ts";
import { progressToStderr, requireFormat, writeReport } from "./output.ts";

export interface ReconcileFlags {
  repo: string;
  branch?: string;
  backend?: string;
  dataDir: string;
  format: string;
}

/** `stackd reconcile`: exit 0 all stacks ok, 1 any stack failed. */
export async function reconcileCommand(flags: ReconcileFlags): Promise<number> {
  const format = requireFormat(flags.format, ["text", "json"] as const);
  const report = await reconcile({
    repo: flags.repo,
    branch: flags.branch,
    backend: flags.backend,
    dataDir: flags.dataDir,
    onProgress: progressToStderr,
  });
  writeReport(report, format);
  return report.stacks.some(isFailure) ? 1 : 0;
}
