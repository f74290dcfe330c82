// The stack graph: what each stack depends on (declared, or read through StackReference), in what order stacks run, cascades.
export { buildGraph, cycleOf, dependenciesOf, dependentsOf, describeCycle, type Edge, type EdgeOrigin, type GraphInput, type StackGraph } from "./graph.ts";
export { resolveReference } from "./references.ts";
export { lastCascade, type Cascade, type CascadeRun } from "./cascade.ts";
export { graphDot, graphText, type GraphView } from "./render.ts";
