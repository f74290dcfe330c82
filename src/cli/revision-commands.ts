import { reconcile } from "../reconciler/index.ts";
import { isFailure, type Report } from "../report/index.ts";
import { progressToStderr, requireFormat, writeReport } from "./output.ts";

/** The flags of the commands that run every stack of one revision. */
export interface RevisionFlags {
  repo: string;
  branch?: string;
  ref?: string;
  stack?: string[];
  backend?: string;
  dataDir: string;
  format: string;
}

/** Runs every stack of the revision in `mode`, prints the report, and turns it into an exit code. */
async function runRevision(flags: RevisionFlags, mode: "apply" | "preview" | "drift", exitCode: (report: Report) => number): Promise<number> {
  const format = requireFormat(flags.format, ["text", "json"] as const);
  const report = await reconcile({
    repo: flags.repo,
    branch: flags.branch,
    ref: flags.ref,
    stacks: flags.stack,
    backend: flags.backend,
    dataDir: flags.dataDir,
    mode,
    onProgress: progressToStderr,
  });
  writeReport(report, format);
  return exitCode(report);
}

const has = (report: Report, status: string) => report.stacks.some((s) => s.status === status);

/** `stackd reconcile`: exit 0 all stacks ok, 1 any stack failed. */
export const reconcileCommand = (flags: RevisionFlags) => runRevision(flags, "apply", (r) => (r.stacks.some(isFailure) ? 1 : 0));

/**
 * `stackd policy check`: previews every stack with the policy packs and
 * applies nothing. Exit 0 clean (advisory allowed), 2 mandatory violations, 1 error.
 */
export const policyCheckCommand = (flags: RevisionFlags) =>
  runRevision(flags, "preview", (r) => (has(r, "failed") ? 1 : has(r, "blocked") ? 2 : 0));

/**
 * `stackd drift`: a one-off, read-only drift check of the stacks' state
 * against the cloud. Exit 0 no drift, 2 drift, 1 error.
 */
export const driftCommand = (flags: RevisionFlags) => runRevision(flags, "drift", (r) => (has(r, "failed") ? 1 : has(r, "drifted") ? 2 : 0));
