import type { Cascade } from "./cascade.ts";
import type { Edge, StackGraph } from "./graph.ts";

/** What `stackd graph` and GET /api/graph show. */
export interface GraphView extends StackGraph {
  lastCascade: Cascade | null;
}

function origin(e: Edge): string {
  return e.origins.map((o) => (o === "declared" ? "declared in stackd.yaml" : `inferred from StackReference "${e.reference}"${e.run ? ` (run ${e.run})` : ""}`)).join(" + ");
}

/** The graph for people: order, edges with their origins, cycles, the last cascade. */
export function graphText(v: GraphView): string {
  const lines = [`${v.stacks.length} stack(s), ${v.edges.length} dependency edge(s)`, "", "Order (dependencies first):"];
  v.order.forEach((s, i) => lines.push(`  ${i + 1}. ${s}`));
  lines.push("", "Edges (stack -> what it depends on):");
  if (v.edges.length === 0) lines.push("  none");
  for (const e of v.edges) lines.push(`  ${e.stack} -> ${e.dependsOn}  ${origin(e)}`);
  for (const c of v.cycles) lines.push("", `Cycle: ${c.join(" -> ")} (these stacks fail until it is broken)`);
  lines.push("", "Last cascade:");
  const c = v.lastCascade;
  if (!c) lines.push("  none yet");
  else {
    lines.push(`  from ${c.root.stack} (run ${c.root.run}) at ${c.revision.slice(0, 12)}: ${c.runs.length} run(s), ${c.seconds === null ? "still running" : `${c.seconds.toFixed(1)} s`} (the runs alone: ${c.sumOfRuns.toFixed(1)} s)`);
    for (const r of c.runs) lines.push(`    ${r.stack.padEnd(24)} ${r.status.padEnd(12)} ${r.seconds === null ? "" : `${r.seconds.toFixed(1)} s`}  ${r.run}`);
  }
  return `${lines.join("\n")}\n`;
}

const quote = (s: string) => `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`;

/** The graph in Graphviz's language: declared edges solid, inferred dashed, both bold. */
export function graphDot(v: GraphView): string {
  const lines = ["digraph stacks {", "  rankdir=LR;", "  node [shape=box];"];
  const cyclic = new Set(v.cycles.flat());
  for (const s of v.stacks) lines.push(`  ${quote(s)}${cyclic.has(s) ? " [color=red]" : ""};`);
  for (const e of v.edges) {
    const style = e.origins.length > 1 ? "bold" : e.origins[0] === "inferred" ? "dashed" : "solid";
    lines.push(`  ${quote(e.dependsOn)} -> ${quote(e.stack)} [style=${style}, label=${quote(e.origins.join("+"))}];`);
  }
  lines.push("}");
  return `${lines.join("\n")}\n`;
}
