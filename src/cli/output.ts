import { mask } from "../support/index.ts";
import { renderText, type Report } from "../report/index.ts";
import { StackdError } from "../support/index.ts";

/** Refuses a --format value the command does not know. */
export function requireFormat<F extends string>(format: string, allowed: readonly F[]): F {
  if (!(allowed as readonly string[]).includes(format)) {
    throw new StackdError(`unknown format "${format}": use ${allowed.join(" or ")}`, { kind: "usage", where: "--format" });
  }
  return format as F;
}

/** Progress lines go to stderr, so stdout carries only the report. */
export const progressToStderr = (line: string) => process.stderr.write(mask(`stackd: ${line}\n`));

/** Everything a command prints passes through the masking function. */
export function writeOut(text: string): void {
  process.stdout.write(mask(text));
}

/** Prints a report as text or JSON, masked. */
export function writeReport(report: Report, format: "text" | "json"): void {
  writeOut(format === "json" ? `${JSON.stringify(report, null, 2)}\n` : `${renderText(report)}\n`);
}
