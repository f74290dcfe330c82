import { describe, expect, it } from "vitest";
import { PlanRecorder, changedPaths } from "../src/pulumi/index.ts";

const step = (op: string, urn: string, old: object, now: object) => ({
  op,
  urn,
  type: "test:index:Thing",
  old: { inputs: old, outputs: old },
  new: { inputs: now, outputs: now },
});

describe("PlanRecorder", () => {
  it("records one entry per resource with nested changed paths, leaving out bookkeeping resources", () => {
    const r = new PlanRecorder();
    r.onEvent({ sequence: 0, resourcePreEvent: { metadata: { op: "same", urn: "s", type: "pulumi:pulumi:Stack" } } });
    r.onEvent({ sequence: 1, resourcePreEvent: { metadata: step("update", "a", { tags: { owner: "x", env: "dev" } }, { tags: { owner: "y", env: "dev" } }) } });
    r.onEvent({ sequence: 2, resourcePreEvent: { metadata: step("create-replacement", "b", { name: "1" }, { name: "2" }) } });
    r.onEvent({ sequence: 3, resourcePreEvent: { metadata: step("delete-replaced", "b", { name: "1" }, { name: "2" }) } });
    expect(r.resources().map((x) => [x.urn, x.op, x.properties])).toEqual([
      ["a", "update", ["tags.owner"]],
      ["b", "replace", ["name"]],
    ]);
    expect(r.counts()).toEqual({ create: 0, update: 1, replace: 1, delete: 0, same: 0 });
    expect(r.lostEvents()).toBe(0);
  });

  it("counts gaps in the engine's sequence numbers as lost events", () => {
    const r = new PlanRecorder();
    for (const sequence of [0, 1, 3, 4, 7]) r.onEvent({ sequence });
    expect(r.lostEvents()).toBe(3);
  });

  it("in drift mode reads the refresh outputs: declared vs actual values, and deletions", () => {
    const r = new PlanRecorder({ drift: true });
    r.onEvent({ resOutputsEvent: { metadata: step("update", "bucket", { tags: { owner: "team" }, v: true }, { tags: { owner: "someone" }, v: true }) } });
    r.onEvent({ resOutputsEvent: { metadata: { op: "delete", urn: "queue", type: "test:index:Queue", old: { outputs: {} } } } });
    r.onEvent({ resOutputsEvent: { metadata: step("same", "param", { v: 1 }, { v: 1 }) } });
    expect(r.resources()).toEqual([
      { urn: "bucket", type: "test:index:Thing", op: "drift", properties: ["tags.owner"], drift: [{ path: "tags.owner", declared: "team", actual: "someone" }] },
      { urn: "queue", type: "test:index:Queue", op: "deleted", properties: [] },
      { urn: "param", type: "test:index:Thing", op: "same", properties: [] },
    ]);
  });

  it("collects policy violations with the violation text, not the policy's description", () => {
    const r = new PlanRecorder();
    r.onEvent({
      policyEvent: {
        resourceUrn: "u",
        message: "Buckets keep every version.\nbucket b must enable versioning",
        policyName: "bucket-versioning",
        policyPackName: "pack",
        enforcementLevel: "mandatory",
      },
    });
    expect(r.policy).toEqual([{ pack: "pack", policy: "bucket-versioning", enforcement: "mandatory", message: "bucket b must enable versioning", urn: "u" }]);
  });
});

describe("changedPaths", () => {
  it("names nested paths and ignores a dynamic provider's serialized code", () => {
    expect(changedPaths({ a: 1, b: { c: [1, 2] }, __provider: "x" }, { a: 1, b: { c: [1, 3] }, __provider: "y", d: true })).toEqual(["b.c", "d"]);
  });
});
