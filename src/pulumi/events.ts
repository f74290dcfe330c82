import { z } from "zod";
import type { ChangeCounts, PolicyViolation, ResourceChange } from "../report/index.ts";
import { emptyCounts } from "../report/index.ts";

/** The subset of the engine's event stream that stackd depends on. */
const StepMetadataSchema = z.looseObject({
  op: z.string(),
  urn: z.string(),
  type: z.string(),
  diffs: z.array(z.string()).nullish(),
  detailedDiff: z.record(z.string(), z.unknown()).nullish(),
  old: z.looseObject({ id: z.string().nullish(), inputs: z.record(z.string(), z.unknown()).nullish(), outputs: z.record(z.string(), z.unknown()).nullish() }).nullish(),
  new: z.looseObject({ id: z.string().nullish(), inputs: z.record(z.string(), z.unknown()).nullish(), outputs: z.record(z.string(), z.unknown()).nullish() }).nullish(),
});

/** The engine event fields stackd depends on; anything else passes untouched. */
export const EngineEventSchema = z.looseObject({
  sequence: z.number().int().nullish(),
  resourcePreEvent: z.looseObject({ metadata: StepMetadataSchema }).nullish(),
  resOutputsEvent: z.looseObject({ metadata: StepMetadataSchema }).nullish(),
  resOpFailedEvent: z.looseObject({ metadata: StepMetadataSchema }).nullish(),
  diagnosticEvent: z
    .looseObject({ urn: z.string().nullish(), message: z.string(), severity: z.string() })
    .nullish(),
  policyEvent: z
    .looseObject({
      resourceUrn: z.string().nullish(),
      message: z.string(),
      policyName: z.string(),
      policyPackName: z.string(),
      enforcementLevel: z.string(),
    })
    .nullish(),
  policyRemediationEvent: z
    .looseObject({ resourceUrn: z.string().nullish(), policyName: z.string(), policyPackName: z.string() })
    .nullish(),
});

/** One resource step of a plan, as the engine describes it. */
export type StepMetadata = z.infer<typeof StepMetadataSchema>;

const OP_KIND: Record<string, ResourceChange["op"]> = {
  create: "create",
  update: "update",
  delete: "delete",
  same: "same",
  replace: "replace",
  "create-replacement": "replace",
  "delete-replaced": "replace",
  "discard-replaced": "replace",
  read: "read",
  "read-replacement": "read",
  refresh: "refresh",
  import: "create",
  "import-replacement": "replace",
};

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

/** The engine prefixes a violation with its policy's description line; the violation itself says more. */
function violationText(message: string): string {
  const lines = message.replace(ANSI, "").trim().split("\n").map((l) => l.trim()).filter(Boolean);
  return (lines.length > 1 ? lines.slice(1) : lines).join(" ");
}

/** The type of Pulumi's built-in resource that reads another stack's outputs. */
const STACK_REFERENCE = "pulumi:pulumi:StackReference";

/** A StackReference's stack name: its `name` input, which defaults to the resource's own name (the URN's last part). */
function referenceName(m: StepMetadata): string {
  const given = [m.new?.inputs?.name, m.old?.inputs?.name, m.new?.id, m.old?.id].find((v) => typeof v === "string" && v);
  return (given as string | undefined) ?? m.urn.slice(m.urn.lastIndexOf("::") + 2);
}

/** Resources that exist in every stack and say nothing about the team's infrastructure. */
function isBookkeeping(type: string): boolean {
  return type === "pulumi:pulumi:Stack" || type.startsWith("pulumi:providers:");
}

// Pulumi stores a dynamic provider's serialized code as an input; it is not a
// property of the cloud resource, so it is left out of changed paths.
const INTERNAL_KEYS = new Set(["__provider"]);

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Paths that differ between two property bags, nested with dots: "tags.owner". */
export function changedPaths(before: unknown, after: unknown, prefix = ""): string[] {
  if (isPlainObject(before) && isPlainObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys
      .filter((k) => !(prefix === "" && INTERNAL_KEYS.has(k)))
      .flatMap((k) => changedPaths(before[k], after[k], prefix ? `${prefix}.${k}` : k));
  }
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  return [prefix || "(value)"];
}

function valueAt(obj: unknown, pathExpr: string): unknown {
  if (pathExpr === "(value)") return obj;
  let cur: unknown = obj;
  for (const key of pathExpr.split(".")) {
    if (!isPlainObject(cur)) return undefined;
    cur = cur[key];
  }
  return cur;
}

function propertiesOf(m: StepMetadata): string[] {
  if (m.detailedDiff && Object.keys(m.detailedDiff).length > 0) return Object.keys(m.detailedDiff).sort();
  const deep = changedPaths(m.old?.inputs ?? {}, m.new?.inputs ?? {});
  if (deep.length > 0) return deep;
  return [...(m.diffs ?? [])].filter((k) => !INTERNAL_KEYS.has(k)).sort();
}

/**
 * Collects one operation's engine events into the per-resource plan stackd
 * reports: one entry per resource (a replacement's several steps count once),
 * its operation and the property paths it changes, plus error diagnostics.
 */
export class PlanRecorder {
  private readonly steps = new Map<string, ResourceChange>();
  /**
   * A refresh reports what it read in the step's outputs event: the state's
   * values (old) beside the cloud's (new), or a delete when the resource is gone.
   */
  private readonly drift: boolean;

  constructor(opts: { drift?: boolean } = {}) {
    this.drift = opts.drift ?? false;
  }
  readonly errors: { urn?: string; message: string }[] = [];
  /** What the program and its toolchain wrote to stderr (a Go build's compiler errors arrive this way). */
  readonly programStderr: string[] = [];
  readonly policy: PolicyViolation[] = [];
  /**
   * The stack names the program read through StackReference, as it gave
   * them: seen as the reference's read step begins, so a read that fails (the
   * stack or its output does not exist yet) is known too.
   */
  readonly references = new Set<string>();
  private readonly sequences = new Set<number>();

  readonly onEvent = (raw: unknown): void => {
    const parsed = EngineEventSchema.safeParse(raw);
    if (!parsed.success) return;
    const e = parsed.data;
    if (typeof e.sequence === "number") this.sequences.add(e.sequence);
    const reference = e.resourcePreEvent?.metadata ?? e.resOpFailedEvent?.metadata;
    if (reference?.type === STACK_REFERENCE) this.references.add(referenceName(reference));
    const read = e.resOutputsEvent?.metadata;
    if (this.drift && read && !isBookkeeping(read.type)) this.recordDrift(read);
    const step = this.drift ? undefined : e.resourcePreEvent?.metadata;
    if (step && !isBookkeeping(step.type)) {
      const op = OP_KIND[step.op] ?? "same";
      const prev = this.steps.get(step.urn);
      // A replacement arrives as several steps; the first carries the diff. With
      // refresh, a resource's refresh step comes before the step that changes it.
      const passive = (o: string) => o === "refresh" || o === "read" || o === "same";
      if (!prev || (prev.op !== "replace" && op === "replace") || (passive(prev.op) && !passive(op))) {
        const properties = op === "same" || op === "read" ? [] : op === "create" || op === "delete" ? [] : propertiesOf(step);
        const change: ResourceChange = { urn: step.urn, type: step.type, op, properties };
        if (op === "update" || op === "replace") {
          const before = step.old?.inputs ?? {};
          const after = step.new?.inputs ?? {};
          change.diff = properties.map((p) => ({ path: p, old: valueAt(before, p), new: valueAt(after, p) }));
        }
        this.steps.set(step.urn, change);
      }
    }
    const diag = e.diagnosticEvent;
    if (diag && diag.severity === "error") this.errors.push({ urn: diag.urn ?? undefined, message: diag.message });
    if (diag && diag.severity === "info#err") this.programStderr.push(diag.message);
    const p = e.policyEvent;
    if (p) {
      this.policy.push({
        pack: p.policyPackName,
        policy: p.policyName,
        enforcement: p.enforcementLevel === "mandatory" ? "mandatory" : p.enforcementLevel === "remediate" ? "remediate" : "advisory",
        message: violationText(p.message),
        urn: p.resourceUrn ?? undefined,
      });
    }
    const fix = e.policyRemediationEvent;
    if (fix) {
      this.policy.push({
        pack: fix.policyPackName,
        policy: fix.policyName,
        enforcement: "remediate",
        message: "remediated: the policy changed this resource's inputs",
        urn: fix.resourceUrn ?? undefined,
      });
    }
  };

  private recordDrift(m: StepMetadata): void {
    if (m.op === "delete") {
      this.steps.set(m.urn, { urn: m.urn, type: m.type, op: "deleted", properties: [] });
      return;
    }
    const before = m.old?.outputs ?? {};
    const after = m.new?.outputs ?? {};
    if (m.op !== "update") {
      this.steps.set(m.urn, { urn: m.urn, type: m.type, op: "same", properties: [] });
      return;
    }
    let properties = changedPaths(before, after);
    // The engine masks secret values on both sides, so a drifted secret shows no
    // visible difference: name what the engine says changed, values as [secret].
    if (properties.length === 0) properties = (m.diffs ?? []).filter((k) => !INTERNAL_KEYS.has(k));
    if (properties.length === 0) properties = ["[secret]"];
    const drift = properties.map((p) => ({ path: p, declared: valueAt(before, p) ?? "[secret]", actual: valueAt(after, p) ?? "[secret]" }));
    this.steps.set(m.urn, { urn: m.urn, type: m.type, op: "drift", properties, drift });
  }

  /**
   * Events the Automation API failed to deliver: gaps in the engine's sequence
   * numbers. Its reader of the event log sometimes splits a large event line
   * and drops it (pulumi/pulumi#6768); a plan with a gap may miss a resource.
   */
  lostEvents(): number {
    if (this.sequences.size === 0) return 0;
    const max = Math.max(...this.sequences);
    const min = Math.min(...this.sequences);
    return max - min + 1 - this.sequences.size;
  }

  resources(): ResourceChange[] {
    return [...this.steps.values()];
  }

  counts(): ChangeCounts {
    const c = emptyCounts();
    for (const r of this.steps.values()) {
      if (r.op in c) c[r.op as keyof ChangeCounts]++;
      else if (r.op === "drift") c.update++;
      else if (r.op === "deleted") c.delete++;
      else if (r.op === "read" || r.op === "refresh") c.same++;
    }
    return c;
  }
}
