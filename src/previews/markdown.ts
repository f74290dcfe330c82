import type { Report, ResourceChange, StackReport } from "../report/index.ts";

/** Marks the one comment stackd keeps per pull request, so it is found and edited in place. */
export const COMMENT_MARKER = "<!-- stackd-preview -->";

/** GitHub refuses comments and check-run texts over 65 536 characters. */
export const DEFAULT_MAX_CHARS = 60_000;

const OPS: Record<string, string> = { create: "+ create", update: "~ update", replace: "± replace", delete: "- delete" };
const FOLD_AFTER = 10;

function short(v: unknown): string {
  const text = v === undefined ? "(unset)" : JSON.stringify(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

function resourceRow(r: ResourceChange): string {
  const name = r.urn.split("::").pop() ?? r.urn;
  const changes = r.diff?.length
    ? r.diff.map((d) => `\`${d.path}\`: \`${short(d.old)}\` → \`${short(d.new)}\``).join("<br>")
    : r.properties.map((p) => `\`${p}\``).join(", ");
  return `| ${OPS[r.op] ?? r.op} | ${cell(name)} | \`${cell(r.type)}\` | ${cell(changes)} |`;
}

function statusWord(s: StackReport): string {
  return s.status === "previewed" ? "changes" : s.status === "unchanged" ? "no changes" : s.status;
}

function stackSection(s: StackReport): string {
  const lines = [`### ${s.project}/${s.stack}: ${statusWord(s)}`, ""];
  if (s.error) lines.push(`**Error:** ${cell(s.error)}`, "");
  if (s.planDigest) lines.push(`Plan \`sha256:${s.planDigest.slice(0, 16)}\``, "");
  const changed = s.resources.filter((r) => r.op in OPS);
  if (changed.length > 0) {
    const table = ["| Operation | Resource | Type | Changes |", "| --- | --- | --- | --- |", ...changed.map(resourceRow)].join("\n");
    lines.push(changed.length > FOLD_AFTER ? `<details><summary>${changed.length} resources change</summary>\n\n${table}\n\n</details>` : table, "");
  }
  if (s.policy.length > 0) {
    const items = s.policy.map((v) => `- **${v.enforcement}** \`${v.pack}/${v.policy}\`: ${cell(v.message)}${v.urn ? ` (${v.urn.split("::").pop()})` : ""}`);
    lines.push(items.length > FOLD_AFTER ? `<details><summary>${items.length} policy violations</summary>\n\n${items.join("\n")}\n\n</details>` : items.join("\n"), "");
  }
  return lines.join("\n");
}

/**
 * The reviewer's view of a preview: a summary table first, then one section
 * per stack with long lists folded, cut at `maxChars` with a note saying so.
 */
export function renderMarkdown(report: Report, opts: { baseLabel?: string; maxChars?: number; link?: string } = {}): string {
  const max = opts.maxChars ?? DEFAULT_MAX_CHARS;
  const head = [
    COMMENT_MARKER,
    `## stackd preview of \`${report.revision.slice(0, 12)}\`${opts.baseLabel ? ` against \`${opts.baseLabel}\`` : ""}${report.base ? ` (merge base \`${report.base.slice(0, 12)}\`)` : ""}`,
    "",
  ];
  if (report.stacks.length === 0) return [...head, "No stack is affected by this change."].join("\n");
  const summary = [
    "| Stack | Result | Create | Update | Replace | Delete | Policy |",
    "| --- | --- | ---: | ---: | ---: | ---: | --- |",
    ...report.stacks.map((s) => {
      const c = s.changes;
      const mandatory = s.policy.filter((v) => v.enforcement === "mandatory").length;
      const advisory = s.policy.length - mandatory;
      const policy = s.policy.length === 0 ? "—" : [mandatory && `${mandatory} mandatory`, advisory && `${advisory} advisory`].filter(Boolean).join(", ");
      return `| ${s.project}/${s.stack} | ${statusWord(s)} | ${c.create} | ${c.update} | ${c.replace} | ${c.delete} | ${policy} |`;
    }),
    "",
  ];
  let out = [...head, ...summary].join("\n");
  const sections = report.stacks.map(stackSection);
  for (let i = 0; i < sections.length; i++) {
    const note = `\n_Report truncated at ${Math.round(max / 1000)} KB: ${sections.length - i} stack section(s) not shown${opts.link ? `; the full report: ${opts.link}` : ""}._\n`;
    if (out.length + sections[i]!.length + note.length > max) return out + note;
    out += `\n${sections[i]}`;
  }
  return out;
}
