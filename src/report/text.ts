import type { Report, StackReport } from "./schema.ts";

const SYMBOL: Record<string, string> = { create: "+", update: "~", replace: "+-", delete: "-", drift: "~", deleted: "-" };

function counts(s: StackReport): string {
  const c = s.changes;
  const parts = (["create", "update", "replace", "delete"] as const).filter((k) => c[k] > 0).map((k) => `${c[k]} to ${k}`);
  return parts.length ? `${parts.join(", ")}, ${c.same} unchanged` : `${c.same} unchanged`;
}

/** The human-readable form of a report: one block per stack. */
export function renderText(report: Report): string {
  const lines = [`revision ${report.revision}`];
  for (const s of report.stacks) {
    lines.push("", `${s.project}/${s.stack}: ${s.status} (${counts(s)})`);
    for (const r of s.resources) {
      if (r.op === "same") continue;
      const props = r.properties.length ? ` [${r.properties.join(", ")}]` : "";
      lines.push(`  ${SYMBOL[r.op] ?? r.op} ${r.type} ${r.urn.split("::").pop()}${props}`);
    }
    for (const v of s.policy) lines.push(`  policy ${v.enforcement}: ${v.pack}/${v.policy}: ${v.message}`);
    if (s.error) lines.push(`  error: ${s.error}`);
  }
  const failed = report.stacks.filter((s) => s.status === "failed" || s.status === "blocked").length;
  lines.push("", `${report.stacks.length} stack(s), ${failed} failed`);
  return lines.join("\n");
}
