// Pulumi's update plans (`preview --save-plan`, `up --plan`): what a reviewer
// approved, compared with what the engine would do now.
import { createHash } from "node:crypto";
import fs from "node:fs";

/** The sha256 of a file, hex. */
export function fileDigest(file: string): string {
  return createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

interface ResourcePlan {
  goal?: Record<string, unknown>;
  steps?: string[];
  state?: Record<string, unknown>;
}

interface PlanFile {
  config?: Record<string, unknown>;
  resourcePlans?: Record<string, ResourcePlan>;
}

/** A resource's name as people read it: the last part of its URN. */
const nameOf = (urn: string) => urn.split("::").pop() ?? urn;

const steps = (p: ResourcePlan | undefined) => (p?.steps?.length ? p.steps.join(", ") : "nothing");

/** The paths (a.b.c) where two values differ; at most a few, the first first. */
function differingPaths(a: unknown, b: unknown, at = "", out: string[] = []): string[] {
  if (out.length >= 5) return out;
  if (JSON.stringify(a) === JSON.stringify(b)) return out;
  if (a && b && typeof a === "object" && typeof b === "object" && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const k of keys) differingPaths((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], at ? `${at}.${k}` : k, out);
    return out;
  }
  out.push(at || "(value)");
  return out;
}

/**
 * The first way the engine's plan now differs from a saved one, as
 * `<resource>: <what differs>`, or undefined when it would do exactly the
 * saved plan. Per-preview random seeds are not part of what was approved.
 */
export function planDifference(savedFile: string, freshFile: string): string | undefined {
  const saved = JSON.parse(fs.readFileSync(savedFile, "utf8")) as PlanFile;
  const fresh = JSON.parse(fs.readFileSync(freshFile, "utf8")) as PlanFile;
  const config = differingPaths(saved.config ?? {}, fresh.config ?? {});
  if (config.length > 0) return `stack config: ${config.join(", ")} changed`;
  const a = saved.resourcePlans ?? {};
  const b = fresh.resourcePlans ?? {};
  for (const urn of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    const was = a[urn];
    const now = b[urn];
    if (!was) return `${nameOf(urn)}: would now ${steps(now)}, which the plan does not contain`;
    if (!now) return `${nameOf(urn)}: the plan would ${steps(was)}, which the program no longer declares`;
    if (steps(was) !== steps(now)) return `${nameOf(urn)}: planned ${steps(was)}, would now ${steps(now)}`;
    // The goal holds the inputs as a diff against the state (inputDiff.updates.tags...): named by the input's own path.
    const inputs = differingPaths(was.goal, now.goal).map((p) => p.replace(/^inputDiff\.(adds|updates|deletes)\./, ""));
    if (inputs.length > 0) return `${nameOf(urn)}: ${[...new Set(inputs)].join(", ")} changed`;
    const state = differingPaths(was.state, now.state);
    if (state.length > 0) return `${nameOf(urn)}: its state ${state.join(", ")} changed`;
  }
  return undefined;
}

/** `<resource>: <what differs>` from the engine's refusal of an update outside its plan, if it is one. */
export function planViolation(error: string): string | undefined {
  const m = /resource (urn:pulumi:\S+) violates plan: ([^\n]+)/.exec(error);
  return m ? `${nameOf(m[1]!)}: ${m[2]!.trim()}` : undefined;
}
