import { reconcile } from "../reconciler/index.ts";
import { renderText } from "../report/index.ts";
import { StackdError } from "../support/index.ts";

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
  if (flags.format !== "text" && flags.format !== "json") {
    throw new StackdError(`unknown format "${flags.format}": use text or json`, { kind: "usage", where: "--format" });
  }
  const report = await reconcile({
    repo: flags.repo,
    ref: flags.ref,
    backend: flags.backend,
    dataDir: flags.dataDir,
    mode: "preview",
    onProgress: (line) => process.stderr.write(`stackd: ${line}\n`),
  });
  process.stdout.write(flags.format === "json" ? `${JSON.stringify(report, null, 2)}\n` : `${renderText(report)}\n`);
  if (report.stacks.some((s) => s.status === "failed")) return 1;
  return report.stacks.some((s) => s.status === "blocked") ? 2 : 0;
}
