import { createHash } from "node:crypto";
import fs from "node:fs";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation/index.js";
import type { ChangeCounts, PolicyViolation, ResourceChange } from "../report/index.ts";
import { messageOf } from "../support/index.ts";
import { PlanRecorder } from "./events.ts";
import { summarizeFailure } from "./failure.ts";
import { endGroups, GROUPS_VAR, operationGroupsDir } from "./process-groups.ts";
import { runEngineCommand } from "./engine-command.ts";
import { engineEnv, loadToolchain, type Toolchain } from "./toolchain.ts";

/** Where and how one stack's operations run. */
export interface StackTarget {
  /** Absolute path of the project directory (the one holding Pulumi.yaml). */
  workDir: string;
  /** The program's directory relative to the repository root, to name files in errors. */
  programDir?: string;
  stack: string;
  backendUrl: string;
  passphrase: string;
  /** Pulumi's own home: its plugins/ is the plugin cache every stack shares. */
  pulumiHome: string;
  /** Extra environment for the engine and the program: cloud endpoint and credentials. */
  env?: Record<string, string>;
  /** Where operations record their process groups (`<data dir>/process-groups`); none: not recorded. */
  processGroups?: string;
  /** Policy pack directories, with one config file each (same order). */
  policyPacks?: string[];
  policyPackConfigs?: string[];
}

/** What one engine operation did or would do, or why it failed. */
export interface OperationResult {
  ok: boolean;
  resources: ResourceChange[];
  policy: PolicyViolation[];
  changes: ChangeCounts;
  /** One line naming the cause, when !ok. */
  error?: string;
  /** The engine's own progress output. */
  log: string;
  /** The stack names the program read through StackReference (as it gave them). */
  references: string[];
}

/**
 * preview and up as usual; drift-check is a read-only refresh preview;
 * refresh writes the cloud's values into the state; destroy deletes every
 * resource the state holds, and destroy-preview shows what it would delete.
 */
export type Operation = "preview" | "up" | "drift-check" | "refresh" | "destroy" | "destroy-preview";

/** After an interrupt, how long the engine may take to stop cleanly before its processes are ended. */
export const KILL_GRACE_MS = 10_000;

/** What one operation may be asked beyond its kind. */
export interface OperationOptions {
  onOutput?: (line: string) => void;
  signal?: AbortSignal;
  refresh?: boolean;
  onEvent?: (e: unknown) => void;
  /** preview: save the update plan to this file. */
  savePlan?: string;
  /** up: do exactly this saved plan, or nothing. */
  plan?: string;
  /** up: preview first in the same engine process, and change nothing when the preview fails (a mandatory policy violation). */
  previewFirst?: boolean;
}

/** The environment of the target's engine processes: backend, passphrase, cloud, where to record process groups. */
function targetEnv(tc: Toolchain, target: StackTarget, groups?: string, plans = false): Record<string, string> {
  return engineEnv(tc, {
    PULUMI_BACKEND_URL: target.backendUrl,
    PULUMI_CONFIG_PASSPHRASE: target.passphrase,
    ...target.env,
    ...(groups ? { [GROUPS_VAR]: groups } : {}),
    // Update plans sit behind the engine's experimental flag (3.184).
    ...(plans ? { PULUMI_EXPERIMENTAL: "true" } : {}),
  });
}

/** A workspace on the project directory with the target's backend, passphrase and environment. */
async function workspace(target: StackTarget, groups?: string, plans = false): Promise<LocalWorkspace> {
  const tc = await loadToolchain();
  fs.mkdirSync(target.pulumiHome, { recursive: true });
  return LocalWorkspace.create({ workDir: target.workDir, pulumiCommand: tc.command, pulumiHome: target.pulumiHome, envVars: targetEnv(tc, target, groups, plans) });
}

async function openStack(target: StackTarget, groups?: string, plans = false): Promise<Stack> {
  return Stack.createOrSelect(target.stack, await workspace(target, groups, plans));
}

/**
 * The CLI arguments of an up, as the Automation API passes them, except
 * that the engine may preview first in the same process (see engine-command.ts).
 */
function upArgs(target: StackTarget, opts: OperationOptions): string[] {
  return [
    "up",
    "--yes",
    ...(opts.previewFirst ? [] : ["--skip-preview"]),
    ...(opts.refresh ? ["--refresh"] : []),
    ...(opts.plan ? ["--plan", opts.plan] : []),
    ...(target.policyPacks ?? []).flatMap((p) => ["--policy-pack", p]),
    ...(target.policyPackConfigs ?? []).flatMap((c) => ["--policy-pack-config", c]),
  ];
}

/**
 * The stack's checkpoint as the backend holds it, as a sha256 over its
 * exported deployment: any write to the state (an update, a refresh, an
 * import by hand) changes it; reading does not.
 */
export async function stateCheckpoint(target: StackTarget): Promise<string> {
  const state = await (await openStack(target)).exportStack();
  return createHash("sha256").update(JSON.stringify(state.deployment ?? null)).digest("hex");
}

/**
 * Runs one Automation API operation on a stack and returns its plan: which
 * resources change and how, or why it failed. Never throws for engine
 * failures; those are results.
 */
export async function runOperation(target: StackTarget, op: Operation, opts: OperationOptions = {}): Promise<OperationResult> {
  // Read-only operations are repeated when the event stream lost an event, so
  // a plan or drift report never silently misses a resource.
  const attempts = op === "preview" || op === "drift-check" || op === "destroy-preview" ? 3 : 1;
  let result: OperationResult;
  let lost = 0;
  for (let attempt = 1; ; attempt++) {
    ({ result, lost } = await runOnce(target, op, opts));
    if (lost === 0 || attempt >= attempts || opts.signal?.aborted) break;
  }
  if (lost > 0) result.log += `\nstackd: warning: ${lost} engine event(s) were lost in transit; this plan may miss resources\n`;
  return result;
}

async function runOnce(target: StackTarget, op: Operation, opts: OperationOptions): Promise<{ result: OperationResult; lost: number }> {
  const recorder = new PlanRecorder({ drift: op === "drift-check" || op === "refresh" });
  const log: string[] = [];
  const output = (chunk: string) => {
    log.push(chunk);
    opts.onOutput?.(chunk);
  };
  // The operation's processes form groups of their own: on abort the engine gets
  // Pulumi's interrupt first, and whatever is still running after the grace is ended.
  const groups = target.processGroups ? operationGroupsDir(target.processGroups) : undefined;
  // The Automation API adds an abort listener to the signal it is given and
  // never removes it; that listener holds the engine's process and all its
  // output. On a timeout or composite signal (AbortSignal.timeout, .any), Node
  // keeps every signal with a listener alive until it aborts, so each finished
  // operation stayed in memory. It gets a plain signal of its own instead,
  // which nothing references once the operation is over.
  const engineAbort = new AbortController();
  let killer: NodeJS.Timeout | undefined;
  const onAbort = () => {
    engineAbort.abort(opts.signal?.reason);
    killer = setTimeout(() => groups && endGroups(groups), KILL_GRACE_MS);
    killer.unref();
  };
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  if (opts.signal?.aborted) engineAbort.abort(opts.signal.reason);
  try {
    const onEvent = (e: unknown) => {
      recorder.onEvent(e);
      opts.onEvent?.(e);
    };
    const plans = !!(opts.savePlan || opts.plan);
    if (op === "up") {
      const tc = await loadToolchain();
      fs.mkdirSync(target.pulumiHome, { recursive: true });
      const env = { ...targetEnv(tc, target, groups, plans), PULUMI_HOME: target.pulumiHome };
      await runEngineCommand(tc, { args: upArgs(target, opts), workDir: target.workDir, stack: target.stack, env, onOutput: output, onEvent, signal: engineAbort.signal });
    } else {
      const stack = await openStack(target, groups, plans);
      const common = { onEvent, onOutput: output, color: "never" as const, signal: engineAbort.signal };
      const packs = { policyPacks: target.policyPacks, policyPackConfigs: target.policyPackConfigs };
      if (op === "preview") await stack.preview({ ...common, ...packs, refresh: opts.refresh, plan: opts.savePlan });
      else if (op === "drift-check") await stack.previewRefresh(common);
      else if (op === "destroy") await stack.destroy(common);
      else if (op === "destroy-preview") await stack.destroy({ ...common, previewOnly: true });
      else await stack.refresh(common);
    }
    const result = { ok: true, resources: recorder.resources(), policy: recorder.policy, changes: recorder.counts(), log: log.join(""), references: [...recorder.references] };
    return { result, lost: recorder.lostEvents() };
  } catch (err) {
    const result = {
      ok: false,
      resources: recorder.resources(),
      policy: recorder.policy,
      changes: recorder.counts(),
      error: summarizeFailure(recorder.errors.map((e) => e.message), messageOf(err), target.programDir, recorder.programStderr),
      log: log.join(""),
      references: [...recorder.references],
    };
    return { result, lost: recorder.lostEvents() };
  } finally {
    clearTimeout(killer);
    opts.signal?.removeEventListener("abort", onAbort);
    // Anything the engine left running (a plugin that did not exit) ends with the operation.
    if (groups) endGroups(groups);
  }
}

/**
 * A sha256 over the stack's outputs (secrets decrypted first, so a changed
 * secret changes it; the values themselves go nowhere) and how many
 * resources its state holds besides the stack and its providers.
 */
export async function stackOutputs(target: StackTarget): Promise<{ digest: string; resources: number }> {
  const stack = await openStack(target);
  const outputs = await stack.outputs();
  const values = Object.keys(outputs).sort().map((k) => [k, outputs[k]!.value]);
  const state = await stack.exportStack();
  const resources = ((state.deployment as { resources?: { type: string }[] } | undefined)?.resources ?? []).filter(
    (r) => r.type !== "pulumi:pulumi:Stack" && !r.type.startsWith("pulumi:providers:"),
  ).length;
  return { digest: createHash("sha256").update(JSON.stringify(values)).digest("hex"), resources };
}

/** Removes a stack, which must hold no resources any more, from its backend (`pulumi stack rm`). */
export async function removeStack(target: StackTarget): Promise<void> {
  await (await workspace(target)).removeStack(target.stack);
}

/** Whether the stack exists in its backend (without creating it). */
export async function stackExists(target: StackTarget): Promise<boolean> {
  const ws = await workspace(target);
  const stacks = await ws.listStacks();
  return stacks.some((s) => s.name === target.stack || s.name.endsWith(`/${target.stack}`));
}

/**
 * Clears what an interrupted update leaves behind: the stack's lock (`pulumi
 * cancel`, which for self-managed backends deletes the lock files) and the
 * pending operations that would make the next update refuse to run. Returns
 * how many pending operations were cleared. Resources they were creating may
 * exist in the cloud without state; the next up meets them again.
 */
export async function recoverStack(target: StackTarget): Promise<number> {
  const stack = await openStack(target);
  await stack.cancel();
  const state = await stack.exportStack();
  const deployment = state.deployment as { pending_operations?: unknown[] } | undefined;
  const pending = deployment?.pending_operations ?? [];
  if (pending.length === 0) return 0;
  delete deployment!.pending_operations;
  await stack.importStack(state);
  return pending.length;
}
