import fs from "node:fs";
import { renderMarkdown } from "../previews/index.ts";
import { previewChange } from "../reconciler/index.ts";
import { mask } from "../support/index.ts";
import { progressToStderr, requireFormat, writeOut } from "./output.ts";

/** `stackd preview`'s options. */
export interface PreviewFlags {
  repo: string;
  ref: string;
  base?: string;
  backend?: string;
  dataDir: string;
  format: string;
  out?: string;
}

/**
 * `stackd preview`: the infrastructure plan of a change, for review. Exit 0 no
 * changes, 2 changes (or a blocking policy violation), 1 error, as terraform's
 * -detailed-exitcode.
 */
export async function previewCommand(flags: PreviewFlags): Promise<number> {
  const format = requireFormat(flags.format, ["md", "json"] as const);
  const report = await previewChange({
    repo: flags.repo,
    ref: flags.ref,
    base: flags.base,
    backend: flags.backend,
    dataDir: flags.dataDir,
    onProgress: progressToStderr,
  });
  const text = format === "json" ? `${JSON.stringify(report, null, 2)}\n` : `${renderMarkdown(report, { baseLabel: flags.base })}\n`;
  if (flags.out) fs.writeFileSync(flags.out, mask(text));
  else writeOut(text);
  if (report.stacks.some((s) => s.status === "failed")) return 1;
  return report.stacks.some((s) => s.status === "previewed" || s.status === "blocked") ? 2 : 0;
}
