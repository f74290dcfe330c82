import type { Report, StackReport } from "./schema.ts";

const SYMBOL: Record<string, string> = { create: "+", update: "~", replace: "+-", delete: "-", drift: "~", deleted: "-" };

function counts(s: StackReport): string {
  const c = s.changes;
  if (s.status === "drifted" || s.status === "in-sync") {
    return `${c.update} drifted, ${c.delete} deleted out of band, ${c.same} in sync`;
  }
  const parts = (["create", "update", "replace", "delete"] as const).filter((k) => c[k] > 0).map((k) => `${c[k]} to ${k}`);
  return parts.length ? `${parts.join(", ")}, ${c.same} unchanged` : `${c.same} unchanged`;
}

/** The human-readable form of a report: one block per stack. */
export function renderText(report: Report): string {
  const lines = [`revision ${report.revision}`];
  for (const s of report.stacks) {
    lines.push("", `${s.project}/${s.stack}: ${s.status} (${counts(s)})`);
    if (s.runtime) lines.push(`  runtime ${s.runtime}${s.plugins?.length ? `, plugins ${s.plugins.map((p) => `${p.name}@${p.version}`).join(", ")}` : ""}`);
    for (const r of s.resources) {
      if (r.op === "same") continue;
      const shown = r.drift ? r.drift.map((d) => `${d.path}: ${JSON.stringify(d.declared)} -> ${JSON.stringify(d.actual)}`) : r.properties;
      const props = shown.length ? ` [${shown.join(", ")}]` : "";
      lines.push(`  ${SYMBOL[r.op] ?? r.op} ${r.type} ${r.urn.split("::").pop()}${props}`);
    }
    for (const v of s.policy) lines.push(`  policy ${v.enforcement}: ${v.pack}/${v.policy}: ${v.message}`);
    if (s.error) lines.push(`  error: ${s.error}`);
  }
  const failed = report.stacks.filter((s) => s.status === "failed" || s.status === "blocked").length;
  const drifted = report.stacks.filter((s) => s.status === "drifted").length;
  if (report.stacks.some((s) => s.status === "drifted" || s.status === "in-sync")) {
    lines.push("", `${report.stacks.length} stack(s), ${drifted} drifted, ${failed} failed`);
    return lines.join("\n");
  }
  lines.push("", `${report.stacks.length} stack(s), ${failed} failed`);
  return lines.join("\n");
}
