import type { StackRead } from "../ledger/index.ts";

/** Where an edge comes from: stackd.yaml's dependsOn, or a StackReference the stack's program read. */
export type EdgeOrigin = "declared" | "inferred";

/** `stack` depends on `dependsOn`: it runs after it, and again when its outputs change. */
export interface Edge {
  stack: string;
  dependsOn: string;
  origins: EdgeOrigin[];
  /** For an inferred edge: the name the program gave the reference, the run that read it, and when. */
  reference?: string;
  run?: string;
  at?: string;
}

/** The stacks stackd manages and what each depends on. */
export interface StackGraph {
  stacks: string[];
  edges: Edge[];
  /** Each cycle as a path that returns to its start (a -> b -> a), in the order the edges run. */
  cycles: string[][];
  /** Every stack, dependencies before dependents; stacks in a cycle, and those waiting on one, last. */
  order: string[];
}

/** What the graph is built from, per stack: its declared dependsOn and its recorded reads. */
export interface GraphInput {
  name: string;
  dependsOn: string[];
  reads: StackRead[];
}

/** The graph of the given stacks; edges to stacks outside it are left out. */
export function buildGraph(inputs: GraphInput[]): StackGraph {
  const stacks = inputs.map((i) => i.name).sort();
  const known = new Set(stacks);
  const edges = new Map<string, Edge>();
  const edge = (stack: string, dependsOn: string): Edge => {
    const key = `${stack}\u0000${dependsOn}`;
    let e = edges.get(key);
    if (!e) edges.set(key, (e = { stack, dependsOn, origins: [] }));
    return e;
  };
  for (const i of inputs) {
    for (const d of i.dependsOn) if (known.has(d) && d !== i.name) edge(i.name, d).origins.push("declared");
    for (const r of i.reads) {
      if (!known.has(r.stack) || r.stack === i.name) continue;
      const e = edge(i.name, r.stack);
      if (!e.origins.includes("inferred")) e.origins.push("inferred");
      Object.assign(e, { reference: r.reference, run: r.run, at: r.at });
    }
  }
  const list = [...edges.values()].sort((a, b) => a.stack.localeCompare(b.stack) || a.dependsOn.localeCompare(b.dependsOn));
  const cycles = findCycles(stacks, list);
  return { stacks, edges: list, cycles, order: graphOrder(stacks, list, cycles) };
}

/** The stacks `name` depends on directly. */
export function dependenciesOf(g: StackGraph, name: string): string[] {
  return g.edges.filter((e) => e.stack === name).map((e) => e.dependsOn);
}

/** The stacks that depend on `name` directly. */
export function dependentsOf(g: StackGraph, name: string): string[] {
  return g.edges.filter((e) => e.dependsOn === name).map((e) => e.stack);
}

/** The cycle `name` is part of, if any. */
export function cycleOf(g: StackGraph, name: string): string[] | undefined {
  return g.cycles.find((c) => c.includes(name));
}

/** A cycle in words, each edge with its origin: what to change to break it. */
export function describeCycle(g: StackGraph, cycle: string[]): string {
  const why = cycle.slice(0, -1).map((from, i) => {
    const to = cycle[i + 1]!;
    const e = g.edges.find((x) => x.stack === from && x.dependsOn === to)!;
    const reasons = e.origins.map((o) => (o === "declared" ? `${from} dependsOn ${to} in stackd.yaml` : `${from} reads ${to} through StackReference "${e.reference}"`));
    return reasons.join(", and ");
  });
  return `dependency cycle: ${cycle.join(" -> ")} (${why.join("; ")}); remove one of these edges`;
}

/** Strongly connected components of more than one stack (Tarjan), each as a closed path. */
function findCycles(stacks: string[], edges: Edge[]): string[][] {
  const out = new Map<string, string[]>(stacks.map((s) => [s, []]));
  for (const e of edges) out.get(e.stack)!.push(e.dependsOn);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let next = 0;
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of out.get(v)!) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const c: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        c.push(w);
      } while (w !== v);
      if (c.length > 1) components.push(c);
    }
  };
  for (const s of stacks) if (!index.has(s)) visit(s);
  return components.map((c) => closedPath(c, out));
}

/** A path through a component that returns to where it started, from its first stack by name. */
function closedPath(component: string[], out: Map<string, string[]>): string[] {
  const members = new Set(component);
  const start = [...component].sort()[0]!;
  // Breadth-first back to the start: the shortest cycle through it.
  const prev = new Map<string, string>();
  const queue = [start];
  while (queue.length) {
    const v = queue.shift()!;
    for (const w of out.get(v)!.filter((x) => members.has(x))) {
      if (w === start) {
        const path = [start];
        for (let u = v; u !== start; u = prev.get(u)!) path.splice(1, 0, u);
        return [...path, start];
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [...component, component[0]!];
}

/** Dependencies before dependents (Kahn's order, by name among equals); cycles and what waits on them after the rest. */
function graphOrder(stacks: string[], edges: Edge[], cycles: string[][]): string[] {
  const inCycle = new Set(cycles.flat());
  const waiting = new Map(stacks.map((s) => [s, new Set(edges.filter((e) => e.stack === s).map((e) => e.dependsOn))]));
  const order: string[] = [];
  for (;;) {
    const ready = [...waiting].filter(([s, deps]) => !inCycle.has(s) && deps.size === 0).map(([s]) => s).sort();
    if (ready.length === 0) break;
    for (const s of ready) {
      order.push(s);
      waiting.delete(s);
      for (const deps of waiting.values()) deps.delete(s);
    }
  }
  return [...order, ...[...waiting.keys()].sort()];
}
