import { describe, expect, it } from "vitest";
import { buildGraph, describeCycle, graphDot, graphText, lastCascade, resolveReference } from "../src/graph/index.ts";
import type { Run } from "../src/ledger/index.ts";

const read = (stack: string, reference = `organization/${stack}`) => ({ stack, reference, run: "run_1", at: "2026-12-07T00:00:00.000Z" });

describe("the stack graph, as a model", () => {
  it("matches StackReference names to managed stacks, across projects and naming forms", () => {
    const managed = new Set(["network/dev", "app/dev", "app/prod"]);
    expect(resolveReference("organization/network/dev", { project: "app" }, managed)).toBe("network/dev");
    expect(resolveReference("acme/network/dev", { project: "app" }, managed)).toBe("network/dev");
    expect(resolveReference("network/dev", { project: "app" }, managed)).toBe("network/dev");
    expect(resolveReference("prod", { project: "app" }, managed)).toBe("app/prod");
    expect(resolveReference("organization/other/dev", { project: "app" }, managed)).toBeNull();
  });

  it("merges declared and inferred edges, orders three layers, and leaves out stacks it does not manage", () => {
    const g = buildGraph([
      { name: "app/dev", dependsOn: ["cluster/dev"], reads: [read("cluster/dev")] },
      { name: "cluster/dev", dependsOn: [], reads: [read("network/dev"), read("elsewhere/dev")] },
      { name: "network/dev", dependsOn: [], reads: [] },
      { name: "tools/dev", dependsOn: [], reads: [] },
    ]);
    expect(g.edges.map((e) => `${e.stack}->${e.dependsOn}:${e.origins.join("+")}`)).toEqual(["app/dev->cluster/dev:declared+inferred", "cluster/dev->network/dev:inferred"]);
    expect(g.order).toEqual(["network/dev", "tools/dev", "cluster/dev", "app/dev"]);
    expect(g.cycles).toEqual([]);
    expect(graphDot({ ...g, lastCascade: null })).toContain('"cluster/dev" -> "app/dev" [style=bold, label="declared+inferred"]');
  });

  it("finds a cycle through three stacks and says where each edge comes from", () => {
    const g = buildGraph([
      { name: "a/dev", dependsOn: ["b/dev"], reads: [] },
      { name: "b/dev", dependsOn: [], reads: [read("c/dev")] },
      { name: "c/dev", dependsOn: ["a/dev"], reads: [] },
      { name: "d/dev", dependsOn: ["a/dev"], reads: [] },
    ]);
    expect(g.cycles).toEqual([["a/dev", "b/dev", "c/dev", "a/dev"]]);
    expect(describeCycle(g, g.cycles[0]!)).toBe(
      'dependency cycle: a/dev -> b/dev -> c/dev -> a/dev (a/dev dependsOn b/dev in stackd.yaml; b/dev reads c/dev through StackReference "organization/c/dev"; c/dev dependsOn a/dev in stackd.yaml); remove one of these edges',
    );
    // d/dev waits on the cycle, so it comes last with it.
    expect(g.order).toEqual(["a/dev", "b/dev", "c/dev", "d/dev"]);
    expect(graphText({ ...g, lastCascade: null })).toContain("Cycle: a/dev -> b/dev -> c/dev -> a/dev");
  });

  it("a cascade is its root and every run it caused, timed as a whole and run by run", () => {
    const run = (id: string, stack: string, cascadeOf: string | null, start: number, end: number) =>
      ({ id, stack, cascadeOf, status: "succeeded", revision: "abc", createdAt: new Date(start * 1000).toISOString(), startedAt: new Date(start * 1000).toISOString(), finishedAt: new Date(end * 1000).toISOString() }) as Run;
    const c = lastCascade([run("r1", "network/dev", null, 0, 10), run("r2", "cluster/dev", "r1", 10, 18), run("r3", "app/dev", "r2", 18, 30), run("r0", "tools/dev", null, 0, 5)])!;
    expect(c.root.run).toBe("r1");
    expect(c.runs.map((r) => r.stack)).toEqual(["network/dev", "cluster/dev", "app/dev"]);
    expect(c.seconds).toBe(30);
    expect(c.sumOfRuns).toBe(30);
    expect(lastCascade([run("r0", "tools/dev", null, 0, 5)])).toBeNull();
  });
});
