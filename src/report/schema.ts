import { z } from "zod";

/**
 * The report every stackd command shares (reconcile, policy check, drift,
 * preview). Fields are only ever added, never renamed.
 */
export const ResourceOp = z.enum(["create", "update", "replace", "delete", "same", "read", "refresh", "drift", "deleted"]);

/** For drift: the value git declares (the state stackd applied) beside the value the cloud has. */
export const PropertyDriftSchema = z.object({
  path: z.string(),
  declared: z.unknown(),
  actual: z.unknown(),
});

/** For a planned update or replacement: a property's current value and the value it will get. */
export const PropertyChangeSchema = z.object({
  path: z.string(),
  old: z.unknown(),
  new: z.unknown(),
});

/** One resource of a plan or drift report. */
export const ResourceChangeSchema = z.object({
  urn: z.string(),
  type: z.string(),
  op: ResourceOp,
  /** Top-level or nested property paths that differ, e.g. "tags.owner". */
  properties: z.array(z.string()),
  drift: z.array(PropertyDriftSchema).optional(),
  diff: z.array(PropertyChangeSchema).optional(),
});

/** How many resources each kind of step touches. */
export const ChangeCountsSchema = z.object({
  create: z.number().int(),
  update: z.number().int(),
  replace: z.number().int(),
  delete: z.number().int(),
  same: z.number().int(),
});

/** One policy violation a pack reported. */
export const PolicyViolationSchema = z.object({
  pack: z.string(),
  policy: z.string(),
  enforcement: z.enum(["advisory", "mandatory", "remediate", "disabled"]),
  message: z.string(),
  urn: z.string().optional(),
});

/** A provider plugin a run used, by the sha256 of its executable. */
export const UsedPluginSchema = z.object({
  kind: z.string(),
  name: z.string(),
  version: z.string(),
  sha256: z.string(),
});

/** How a stack's part of a report ended. */
export const StackStatus = z.enum(["applied", "unchanged", "previewed", "failed", "blocked", "skipped", "drifted", "in-sync", "adopted", "destroyed"]);

/** One stack's part of a report. */
export const StackReportSchema = z.object({
  project: z.string(),
  stack: z.string(),
  status: StackStatus,
  changes: ChangeCountsSchema,
  resources: z.array(ResourceChangeSchema),
  policy: z.array(PolicyViolationSchema),
  error: z.string().nullable(),
  /** The program's runtime (nodejs, python, go, yaml, ...). */
  runtime: z.string().optional(),
  /** The provider plugins the program needs, as installed in the shared cache. */
  plugins: z.array(UsedPluginSchema).optional(),
  /** The sha256 of the update plan a preview saved (what an approval would apply). */
  planDigest: z.string().optional(),
});

/** The report every stackd command shares. */
export const ReportSchema = z.object({
  revision: z.string(),
  /** Previews: the merge base the head was compared with. */
  base: z.string().optional(),
  stacks: z.array(StackReportSchema),
});

/** One resource of a plan or drift report. */
export type ResourceChange = z.infer<typeof ResourceChangeSchema>;
/** A drifted property: declared beside actual. */
export type PropertyDrift = z.infer<typeof PropertyDriftSchema>;
/** A planned property change: old beside new. */
export type PropertyChange = z.infer<typeof PropertyChangeSchema>;
/** How many resources each kind of step touches. */
export type ChangeCounts = z.infer<typeof ChangeCountsSchema>;
/** One policy violation a pack reported. */
export type PolicyViolation = z.infer<typeof PolicyViolationSchema>;
/** A provider plugin a run used. */
export type UsedPlugin = z.infer<typeof UsedPluginSchema>;
/** One stack's part of a report. */
export type StackReport = z.infer<typeof StackReportSchema>;
/** The report every stackd command shares. */
export type Report = z.infer<typeof ReportSchema>;

/** Counts of a plan that touches nothing. */
export function emptyCounts(): ChangeCounts {
  return { create: 0, update: 0, replace: 0, delete: 0, same: 0 };
}

/** Whether a stack's result fails the command (failed or blocked). */
export function isFailure(s: StackReport): boolean {
  return s.status === "failed" || s.status === "blocked";
}
