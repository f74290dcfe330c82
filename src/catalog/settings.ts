import fs from "node:fs";
import path from "node:path";
import { Cron } from "croner";
import { z } from "zod";
import { DURATION_PATTERN, durationMs } from "../support/index.ts";
import { readYaml } from "./files.ts";

/** 30 (seconds) or "30s", "500ms", "5m", "1h", as milliseconds. */
const Duration = z
  .union([z.number().positive(), z.string().regex(DURATION_PATTERN, 'use a number of seconds or e.g. "30s", "5m"')])
  .transform(durationMs);

/** Time limits per kind of engine operation; a run past one is cancelled and fails. */
const TimeoutsSchema = z.strictObject({ preview: Duration.optional(), refresh: Duration.optional(), up: Duration.optional(), destroy: Duration.optional() });

/** Time limits in force for one stack, milliseconds. */
export interface Timeouts {
  preview: number;
  refresh: number;
  up: number;
  destroy: number;
}

/** preview and refresh 15 minutes, up and destroy an hour. */
export const DEFAULT_TIMEOUTS: Timeouts = { preview: 15 * 60_000, refresh: 15 * 60_000, up: 60 * 60_000, destroy: 60 * 60_000 };

/** A policy pack: its directory, or the directory with per-policy config and enforcement overrides. */
export const PolicyPackSchema = z.union([
  z.string().min(1),
  z.strictObject({
    path: z.string().min(1),
    /** Per policy: its configuration properties, as the pack's configSchema declares them. */
    config: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
    /** Per policy (or "all"): advisory | mandatory | remediate | disabled. */
    enforcement: z.record(z.string(), z.enum(["advisory", "mandatory", "remediate", "disabled"])).optional(),
  }),
]);

/** A policy pack as stackd.yaml names it. */
export type PolicyPackSetting = z.infer<typeof PolicyPackSchema>;

/** A cron expression (5 or 6 fields, croner syntax) or "off". */
const DriftSchedule = z.string().refine(
  (v) => {
    if (v === "off") return true;
    try {
      new Cron(v, { paused: true }).stop();
      return true;
    } catch {
      return false;
    }
  },
  { message: 'must be a cron expression (e.g. "0 */6 * * *") or "off"' },
);

/** The events notifications can subscribe to. */
export const NotificationEvents = ["drift.detected", "drift.resolved", "run.failed"] as const;

const NotificationSchema = z.union([
  z.url(),
  z.strictObject({ url: z.url(), events: z.array(z.enum(NotificationEvents)).optional() }),
]);

/** Settings of the stacks one `stacks:` key matches. */
export const StackSettingsSchema = z.strictObject({
  apply: z.enum(["auto", "manual"]).optional(),
  dependsOn: z.array(z.string().min(1)).optional(),
  watch: z.array(z.string().min(1)).optional(),
  drift: DriftSchedule.optional(),
  remediate: z.enum(["off", "apply", "adopt"]).optional(),
  /** Destroy the stack (then remove it) once its Pulumi.<stack>.yaml leaves the branch. */
  prune: z.boolean().optional(),
  /** AWS roles stackd assumes for this stack's runs. */
  roles: z
    .strictObject({
      /** For applies (up, remediation, adopt). */
      roleArn: z.string().regex(/^arn:[\w-]+:iam::\d{12}:role\/.+$/, "must be an IAM role ARN").optional(),
      /** A narrower role for previews and drift checks; pull request previews use only this one. */
      previewRoleArn: z.string().regex(/^arn:[\w-]+:iam::\d{12}:role\/.+$/, "must be an IAM role ARN").optional(),
      externalId: z.string().min(2).max(1224).optional(),
      /** Seconds, 900 to 43200 (default 3600). */
      sessionDuration: z.number().int().min(900).max(43200).optional(),
      region: z.string().min(1).optional(),
    })
    .optional(),
  /** Packs run for these stacks in addition to the repository-wide ones. */
  policyPacks: z.array(PolicyPackSchema).optional(),
  timeouts: TimeoutsSchema.optional(),
});

/** stackd.yaml: every field optional, with defaults. */
export const SettingsSchema = z.strictObject({
  /** Only read from a --config file outside the repository: which repository to watch. */
  repo: z.string().min(1).optional(),
  branch: z.string().min(1).optional(),
  backend: z.string().min(1).optional(),
  pollInterval: Duration.default(30_000),
  parallelism: z.number().int().min(1).max(64).default(2),
  /** How long the ledger keeps finished runs, and their engine logs (pruned daily and by `stackd gc`). */
  retention: z.strictObject({ runs: Duration.default(90 * 86_400_000), logs: Duration.default(30 * 86_400_000) }).default({ runs: 90 * 86_400_000, logs: 30 * 86_400_000 }),
  /** Time limits for every stack (stacks: keys override them per stack). */
  timeouts: TimeoutsSchema.default({}),
  /** Destroy and remove stacks whose Pulumi.<stack>.yaml left the branch (stacks: keys override it per stack); off: they are reported Orphaned. */
  prune: z.boolean().default(false),
  /** Paths (globs) whose change affects every stack. */
  watch: z.array(z.string().min(1)).default([]),
  /** Paths (globs) whose change affects no stack, even inside a project directory. */
  ignore: z.array(z.string().min(1)).default(["**/*.md"]),
  /** Policy packs run with every preview; default: policies/ when it holds a pack. [] turns them off. */
  policyPacks: z.array(PolicyPackSchema).optional(),
  /** Pull request previews: forks are previewed only when allowed (their code runs with stackd's credentials). */
  previews: z.strictObject({ forks: z.boolean().default(false) }).default({ forks: false }),
  /** Where drift and failure events are POSTed (JSON; Slack incoming webhooks get Slack's text format). */
  notifications: z.array(NotificationSchema).default([]),
  /** Where provider plugins come from when the shared cache lacks one (see README: plugin sources). */
  plugins: z
    .strictObject({
      /** A directory of plugin tarballs (pulumi-resource-NAME-vVERSION-OS-ARCH.tar.gz); relative paths start at the repository root. */
      dir: z.string().min(1).optional(),
      /** A mirror serving those tarballs over HTTP(S), flat; becomes PULUMI_PLUGIN_DOWNLOAD_URL_OVERRIDES. */
      mirror: z.url({ protocol: /^https?$/ }).optional(),
    })
    .default({}),
  /** Per stack, keyed by "project/stack", "stack" or a glob of either; later keys override earlier ones. */
  stacks: z.record(z.string(), StackSettingsSchema).default({}),
});

/** stackd.yaml as read, defaults filled in. */
export type Settings = z.output<typeof SettingsSchema>;

/** Every six hours. */
export const DEFAULT_DRIFT_SCHEDULE = "0 */6 * * *";

/** The settings in force for one stack, every matching key merged. */
export interface StackSettings {
  apply: "auto" | "manual";
  dependsOn: string[];
  watch: string[];
  /** Cron expression, or "off". */
  drift: string;
  remediate: "off" | "apply" | "adopt";
  /** Destroyed and removed once its stack file leaves the branch. */
  prune: boolean;
  policyPacks: PolicyPackSetting[];
  roles: RoleSettings;
  timeouts: Timeouts;
}

/** The AWS roles stackd assumes for a stack's runs. */
export interface RoleSettings {
  roleArn?: string;
  previewRoleArn?: string;
  externalId?: string;
  sessionDuration?: number;
  region?: string;
}

/** stackd's own file at the repository root. */
export const SETTINGS_FILE = "stackd.yaml";

/** The settings of a repository without stackd.yaml. */
export function defaultSettings(): Settings {
  return SettingsSchema.parse({});
}

/** stackd.yaml at the root of a checkout, or the defaults when there is none. */
export function loadSettings(checkout: string, file = path.join(checkout, SETTINGS_FILE)): { ok: true; settings: Settings } | { ok: false; error: string } {
  if (!fs.existsSync(file)) return { ok: true, settings: defaultSettings() };
  const read = readYaml(file, SettingsSchema.nullable());
  if (!read.ok) return { ok: false, error: `${path.relative(checkout, file) || file}: ${read.reason}` };
  return { ok: true, settings: read.value ?? defaultSettings() };
}

function matches(key: string, project: string, stack: string): boolean {
  return path.matchesGlob(`${project}/${stack}`, key) || path.matchesGlob(stack, key);
}

/** The settings that apply to one stack: every matching key, in file order. */
export function settingsFor(settings: Settings, project: string, stack: string): StackSettings {
  const out: StackSettings = {
    apply: "auto",
    dependsOn: [],
    watch: [],
    drift: DEFAULT_DRIFT_SCHEDULE,
    remediate: "off",
    prune: settings.prune,
    policyPacks: [],
    roles: {},
    timeouts: { ...DEFAULT_TIMEOUTS, ...settings.timeouts },
  };
  for (const [key, s] of Object.entries(settings.stacks)) {
    if (!matches(key, project, stack)) continue;
    if (s.apply) out.apply = s.apply;
    if (s.dependsOn) out.dependsOn = s.dependsOn;
    if (s.watch) out.watch = [...out.watch, ...s.watch];
    if (s.drift) out.drift = s.drift;
    if (s.remediate) out.remediate = s.remediate;
    if (s.prune !== undefined) out.prune = s.prune;
    if (s.policyPacks) out.policyPacks = [...out.policyPacks, ...s.policyPacks];
    if (s.roles) out.roles = { ...out.roles, ...s.roles };
    if (s.timeouts) out.timeouts = { ...out.timeouts, ...s.timeouts };
  }
  return out;
}
