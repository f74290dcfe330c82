import { reconcile } from "../reconciler/index.ts";
import { renderText } from "../report/index.ts";
import { StackdError } from "../support/index.ts";

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
  if (flags.format !== "text" && flags.format !== "json") {
    throw new StackdError(`unknown format "${flags.format}": use text or json`, { kind: "usage", where: "--format" });
  }
  const report = await reconcile({
    repo: flags.repo,
    branch: flags.branch,
    backend: flags.backend,
    dataDir: flags.dataDir,
    stacks: flags.stack,
    mode: "drift",
    onProgress: (line) => process.stderr.write(`stackd: ${line}\n`),
  });
  process.stdout.write(flags.format === "json" ? `${JSON.stringify(report, null, 2)}\n` : `${renderText(report)}\n`);
  if (report.stacks.some((s) => s.status === "failed")) return 1;
  return report.stacks.some((s) => s.status === "drifted") ? 2 : 0;
}
