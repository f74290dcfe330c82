import { describe, expect, it } from "vitest";
import { WorkQueue, affectedStacks } from "../src/reconciler/index.ts";
import { defaultSettings, type StackEntry } from "../src/catalog/index.ts";
import { SettingsSchema } from "../src/catalog/settings.ts";

interface TestJob {
  stack: string;
  dependsOn: string[];
  id: string;
  run: () => Promise<void>;
}

function harness(parallelism: number) {
  const events: string[] = [];
  const skipped: string[] = [];
  const gates = new Map<string, () => void>();
  let running = 0;
  let peak = 0;
  const queue = new WorkQueue<TestJob>(parallelism, (old, by) => skipped.push(`${old.id}->${by.id}`));
  const job = (stack: string, id: string, dependsOn: string[] = []): TestJob => ({
    stack,
    id,
    dependsOn,
    run: () =>
      new Promise<void>((resolve) => {
        running++;
        peak = Math.max(peak, running);
        events.push(`start ${id}`);
        gates.set(id, () => {
          running--;
          events.push(`end ${id}`);
          resolve();
        });
      }),
  });
  const finish = async (id: string) => {
    gates.get(id)!();
    await new Promise((r) => setTimeout(r, 0));
  };
  return { queue, job, finish, events, skipped, peak: () => peak };
}

describe("WorkQueue", () => {
  it("bounds parallelism and serves stacks first come first served", async () => {
    const h = harness(2);
    for (const s of ["a", "b", "c"]) h.queue.push(h.job(s, s));
    expect(h.events).toEqual(["start a", "start b"]);
    await h.finish("b");
    expect(h.events).toEqual(["start a", "start b", "end b", "start c"]);
    expect(h.peak()).toBe(2);
  });

  it("runs one job per stack at a time and coalesces pending ones to the newest", async () => {
    const h = harness(2);
    h.queue.push(h.job("a", "a1"));
    h.queue.push(h.job("a", "a2"));
    h.queue.push(h.job("a", "a3"));
    expect(h.events).toEqual(["start a1"]);
    expect(h.skipped).toEqual(["a2->a3"]);
    await h.finish("a1");
    expect(h.events).toEqual(["start a1", "end a1", "start a3"]);
  });

  it("a cancelled pending job never runs, and the next one takes its place", async () => {
    const h = harness(1);
    h.queue.push(h.job("a", "a1"));
    h.queue.push(h.job("b", "b1"));
    h.queue.push(h.job("c", "c1"));
    expect(h.queue.remove((j) => j.id === "b1").map((j) => j.id)).toEqual(["b1"]);
    expect(h.queue.remove((j) => j.id === "b1")).toEqual([]);
    await h.finish("a1");
    await h.finish("c1");
    expect(h.events).toEqual(["start a1", "end a1", "start c1", "end c1"]);
    expect(h.queue.depth()).toBe(0);
  });

  it("holds a dependent until its dependency has no work left", async () => {
    const h = harness(4);
    h.queue.push(h.job("net", "net1"));
    h.queue.push(h.job("app", "app1", ["net"]));
    expect(h.events).toEqual(["start net1"]);
    await h.finish("net1");
    expect(h.events).toEqual(["start net1", "end net1", "start app1"]);
  });
});

describe("affectedStacks", () => {
  const entry = (project: string, stack: string, projectDir: string, configFile: string): StackEntry => ({
    project,
    stack,
    projectDir,
    programDir: projectDir,
    configFile,
    runtime: "nodejs",
    runtimeOptions: {},
  });
  const entries = [
    entry("root", "dev", "", "stacks/Pulumi.dev.yaml"),
    entry("root", "prod", "", "stacks/Pulumi.prod.yaml"),
    entry("net", "dev", "net", "net/Pulumi.dev.yaml"),
  ];

  it("a stack's own config file affects only that stack", () => {
    expect([...affectedStacks(entries, defaultSettings(), ["stacks/Pulumi.prod.yaml"])]).toEqual(["root/prod"]);
  });

  it("program files affect the project's stacks, not nested projects", () => {
    expect([...affectedStacks(entries, defaultSettings(), ["infra/index.ts"])].sort()).toEqual(["root/dev", "root/prod"]);
    expect([...affectedStacks(entries, defaultSettings(), ["net/index.ts"])]).toEqual(["net/dev"]);
  });

  it("stackd.yaml and policies/ affect every stack; watch globs reach further; a dependency alone does not", () => {
    expect(affectedStacks(entries, defaultSettings(), ["policies/index.ts"]).size).toBe(3);
    const settings = SettingsSchema.parse({
      stacks: { "net/dev": { watch: ["shared/**"] }, "root/*": { dependsOn: ["net/dev"] } },
    });
    // shared/ lies in the root project, so its stacks are affected as well.
    expect([...affectedStacks(entries, settings, ["shared/vpc.json"])].sort()).toEqual(["net/dev", "root/dev", "root/prod"]);
    // A file of net alone: root/* run again after it only when its outputs change (a cascade).
    expect([...affectedStacks(entries, settings, ["net/index.ts"])]).toEqual(["net/dev"]);
    expect([...affectedStacks(entries, settings, ["lib/util.ts"])].sort()).toEqual(["root/dev", "root/prod"]);
  });

  it("a program outside its project (main: ../infra/) affects the project's stacks", () => {
    const layered = [{ ...entry("network", "dev", "network", "network/Pulumi.dev.yaml"), programDir: "infra" }, entry("app", "dev", "app", "app/Pulumi.dev.yaml")];
    expect([...affectedStacks(layered, defaultSettings(), ["infra/index.ts"])]).toEqual(["network/dev"]);
    expect([...affectedStacks(layered, defaultSettings(), ["network/Pulumi.dev.yaml"])]).toEqual(["network/dev"]);
  });

  it("a change to a policy pack affects exactly the stacks that pack judges", () => {
    // Projects in folders of their own, so the packs lie outside every project.
    const apart = [entry("app", "dev", "app", "app/Pulumi.dev.yaml"), entry("app", "prod", "app", "app/Pulumi.prod.yaml"), entries[2]!];
    const settings = SettingsSchema.parse({ policyPacks: [], stacks: { "app/prod": { policyPacks: ["guardrails"] }, "net/*": { policyPacks: [{ path: "packs/net/" }] } } });
    expect([...affectedStacks(apart, settings, ["guardrails/index.ts"])]).toEqual(["app/prod"]);
    expect([...affectedStacks(apart, settings, ["packs/net/package.json"])]).toEqual(["net/dev"]);
    expect([...affectedStacks(apart, settings, ["policies/index.ts"])]).toEqual([]);
    expect([...affectedStacks(apart, defaultSettings(), ["policies/index.ts"])]).toEqual(["app/dev", "app/prod", "net/dev"]);
  });

  it("ignored paths (default: markdown) affect nothing, even inside a project", () => {
    expect(affectedStacks(entries, defaultSettings(), ["README.md", "net/docs/USAGE.md"]).size).toBe(0);
    const settings = SettingsSchema.parse({ ignore: ["examples/**"] });
    expect(affectedStacks(entries, settings, ["examples/a.ts"]).size).toBe(0);
    expect(affectedStacks(entries, settings, ["README.md"]).size).toBe(2);
  });
});
