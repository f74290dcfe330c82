import { reconcile } from "../reconciler/index.ts";
import { isFailure, renderText } from "../report/index.ts";
import { StackdError } from "../support/index.ts";

export interface ReconcileFlags {
  repo: string;
  branch?: string;
  backend?: string;
  dataDir: string;
  format: string;
}

/** `stackd reconcile`: exit 0 all stacks ok, 1 any stack failed. */
export async function reconcileCommand(flags: ReconcileFlags): Promise<number> {
  if (flags.format !== "text" && flags.format !== "json") {
    throw new StackdError(`unknown format "${flags.format}": use text or json`, { kind: "usage", where: "--format" });
  }
  const report = await reconcile({
    repo: flags.repo,
    branch: flags.branch,
    backend: flags.backend,
    dataDir: flags.dataDir,
    onProgress: (line) => process.stderr.write(`stackd: ${line}\n`),
  });
  process.stdout.write(flags.format === "json" ? `${JSON.stringify(report, null, 2)}\n` : `${renderText(report)}\n`);
  return report.stacks.some(isFailure) ? 1 : 0;
}
