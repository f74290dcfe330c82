import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { settingsFor, type Settings, type StackEntry, type Timeouts } from "../catalog/index.ts";
import type { CredentialBroker, Purpose } from "../credentials/index.ts";
import { packsFor, preparePacks, type PreparedPacks } from "../policy/index.ts";
import { ensurePlugins, pluginEnv, pluginSources, type UsedPlugin } from "../plugins/index.ts";
import {
  fileDigest,
  planDifference,
  planViolation,
  recoverStack,
  removeStack,
  runOperation,
  stackOutputs,
  stackExists,
  stateCheckpoint,
  type BackendSettings,
  type Operation,
  type OperationOptions,
  type OperationResult,
  type StackTarget,
} from "../pulumi/index.ts";
import { emptyCounts, type StackReport } from "../report/index.ts";
import { prepareRuntime, type PreparedRuntime } from "../runtimes/index.ts";
import type { GitSource } from "../source/index.ts";
import { formatDuration, messageOf } from "../support/index.ts";

/** Everything one stack's operations need besides the stack itself. */
export interface RunContext {
  checkout: string;
  /**
   * Names the checkout's contents where its directory is reused for other
   * revisions (a leased run checkout): what was prepared in it is keyed by this.
   */
  checkoutKey?: string;
  settings: Settings;
  backend: BackendSettings;
  env?: Record<string, string>;
  /** Dependency installs (per project directory) and pack preparations (per pack list) in flight or done. */
  installs: Map<string, Promise<unknown>>;
  progress: (line: string) => void;
  /** The engine's output as it is written, chunk by chunk (unmasked: the receiver masks whole lines). */
  output?: (chunk: string) => void;
  signal?: AbortSignal;
  /** The cloud credentials of one run (STS AssumeRole of the stack's role); none means stackd's own. */
  credentials?: (entry: StackEntry, revision: string, purpose: Purpose) => Promise<Record<string, string>>;
  /** The revision checked out, for the credentials' session name. */
  revision: string;
}

/**
 * apply: preview, then up when the preview shows changes.
 * preview: preview only (status "previewed" when there are changes).
 * up: up directly (an approved preview).
 * drift: a read-only refresh preview (status "drifted" or "in-sync").
 * adopt: refresh the cloud's values into the state, then preview what the code would change back.
 * destroy: delete every resource of the stack, then remove the stack (a prune).
 * destroy-preview: show what destroy would delete (status "previewed"), for an approval.
 */
export type RunMode = "apply" | "preview" | "up" | "drift" | "adopt" | "destroy" | "destroy-preview";

/** How one stack's run behaves beyond its mode. */
export interface RunOptions {
  /** Refresh the state from the cloud before previewing and applying (drift remediation). */
  refresh?: boolean;
  /**
   * For previews that must not write state (pull requests): a stack that does
   * not exist yet is previewed in a throwaway backend instead of being created.
   */
  scratchBackendForNewStacks?: boolean;
  /** Whose credentials: by default apply for runs that change the stack, preview for previews and drift checks. */
  purpose?: Purpose;
  /** preview: save the update plan to this file, and report its digest and the checkpoint it was made against. */
  savePlan?: string;
  /** up of an approved preview: the plan it showed; applied exactly, or not at all. */
  approvedPlan?: SavedPlan;
  /** destroy of an approved destroy-preview: the state checkpoint it was previewed against; destroyed only from that state. */
  approvedCheckpoint?: string;
  /** preview: save the update plan to a scratch file just to report its digest (pull request previews). */
  reportPlan?: boolean;
}

/** An update plan as a preview saved it: the file, its sha256, and the state checkpoint it was made against. */
export interface SavedPlan {
  file: string;
  digest: string;
  checkpoint: string;
}

/** A stack's report with the engine's log, and whether to stall. */
export interface StackOutcome extends StackReport {
  log: string;
  /** Retrying cannot help (the stack's role cannot be assumed): the stack should stall at once. */
  stall?: boolean;
  /** The plan the run saved (a preview) or applied (an approved up). */
  plan?: { digest: string; checkpoint: string };
  /** An approved plan no longer holds: a new preview should be queued. */
  replan?: boolean;
  /** After a successful up: the sha256 of the stack's outputs and how many resources it holds. */
  outputs?: { digest: string; resources: number };
  /** The stack names the program read through StackReference, in every operation of the run. */
  references?: string[];
}

/**
 * Engine errors about stack configuration rarely name the file; the stack's
 * config file is where the fix goes, so say so.
 */
function locate(entry: StackEntry, error: string | undefined): string | null {
  if (!error) return null;
  if (/config/i.test(error) && !error.includes(entry.configFile)) return `${entry.configFile}: ${error}`;
  return error;
}

/** Per-run credentials from a broker, with each stack's roles from the settings in force. */
export function brokerCredentials(broker: CredentialBroker, settings: Settings): RunContext["credentials"] {
  return (entry, revision, purpose) =>
    broker.envFor(`${entry.project}/${entry.stack}`, revision, settingsFor(settings, entry.project, entry.stack).roles, purpose);
}

/**
 * Runs `fn` with the context moved into a leased run checkout of its
 * revision: a directory reused from run to run, where the program's
 * compiled TypeScript is still cached (see source/run-checkouts.ts).
 */
export async function inRunCheckout<T>(source: GitSource, ctx: RunContext, fn: (ctx: RunContext) => Promise<T>): Promise<T> {
  const lease = await source.lease(ctx.revision);
  try {
    return await fn({ ...ctx, checkout: lease.dir, checkoutKey: lease.key });
  } finally {
    lease.release();
  }
}

/** Runs `fn` once per key for every stack that needs it; a failure is forgotten so the next run tries again. */
function once<T>(ctx: RunContext, key: string, fn: () => Promise<T>): Promise<T> {
  let p = ctx.installs.get(key) as Promise<T> | undefined;
  if (!p) {
    p = fn();
    ctx.installs.set(key, p);
    p.catch(() => ctx.installs.delete(key));
  }
  return p;
}

/** A program's dependencies, once per project directory of a checkout. */
function preparedRuntime(entry: StackEntry, ctx: RunContext, workDir: string): Promise<PreparedRuntime> {
  return once(ctx, `runtime:${ctx.checkoutKey ?? ctx.checkout}:${entry.projectDir}`, () =>
    prepareRuntime(workDir, entry.projectDir, entry.runtime, entry.runtimeOptions, ctx.progress, path.join(ctx.checkout, entry.programDir)),
  );
}

/** Done once per checkout and pack list, however many stacks share it. */
function preparedPacks(entry: StackEntry, ctx: RunContext): Promise<PreparedPacks> {
  const packs = packsFor(ctx.checkout, ctx.settings, settingsFor(ctx.settings, entry.project, entry.stack));
  return once(ctx, `packs:${ctx.checkoutKey ?? ctx.checkout}:${JSON.stringify(packs)}`, () => preparePacks(ctx.checkout, packs, ctx.progress));
}

function blockedBy(violations: StackReport["policy"]): string | undefined {
  const mandatory = violations.filter((v) => v.enforcement === "mandatory");
  if (mandatory.length === 0) return undefined;
  const first = mandatory[0]!;
  return `blocked by ${mandatory.length} mandatory policy violation(s), first: ${first.pack}/${first.policy}: ${first.message}`;
}

/** Calls `then` once, when an up's output shows the engine moving on from its preview to the update. */
function onUpdatePhase(then: () => void): (chunk: string) => void {
  let seen = false;
  let tail = "";
  return (chunk) => {
    if (seen) return;
    // A header may arrive split across chunks: the end of the previous one is kept.
    tail = (tail + chunk).slice(-200);
    if (/^Updating \(/m.test(tail)) {
      seen = true;
      then();
    }
  };
}

/** Whether a plan changes anything. */
export function hasChanges(r: { changes: StackReport["changes"] }): boolean {
  const c = r.changes;
  return c.create + c.update + c.replace + c.delete > 0;
}

/** Runs one stack at the checked-out revision. Never throws: failures are outcomes. */
export async function runStack(entry: StackEntry, ctx: RunContext, mode: RunMode, runOpts: RunOptions = {}): Promise<StackOutcome> {
  const name = `${entry.project}/${entry.stack}`;
  const base = { project: entry.project, stack: entry.stack, policy: [], log: "" };
  const failed = (error: string): StackOutcome => ({ ...base, status: "failed", changes: emptyCounts(), resources: [], error });
  if (entry.error) return failed(entry.error);
  const workDir = path.join(ctx.checkout, entry.projectDir);
  let runtime: PreparedRuntime;
  try {
    runtime = await preparedRuntime(entry, ctx, workDir);
  } catch (err) {
    return failed(messageOf(err));
  }
  let packs: PreparedPacks = { names: [], dirs: [], configs: [] };
  try {
    // A drift check previews nothing the packs could judge; the engine's analyzers are not asked about deletes.
    if (mode !== "drift" && mode !== "destroy" && mode !== "destroy-preview") packs = await preparedPacks(entry, ctx);
  } catch (err) {
    return failed(messageOf(err));
  }
  const purpose = runOpts.purpose ?? (mode === "drift" || mode === "preview" || mode === "destroy-preview" ? "preview" : "apply");
  let credentials: Record<string, string> = {};
  try {
    credentials = (await ctx.credentials?.(entry, ctx.revision, purpose)) ?? {};
  } catch (err) {
    ctx.progress(`${name}: ${messageOf(err)}`);
    return { ...failed(messageOf(err)), stall: true };
  }
  const machineEnv = { ...process.env, ...ctx.env };
  const sources = pluginSources(ctx.settings.plugins, machineEnv, ctx.checkout);
  const target = {
    workDir,
    programDir: entry.programDir,
    stack: entry.stack,
    ...ctx.backend,
    env: { ...ctx.env, ...credentials, ...runtime.env, ...pluginEnv(sources) },
    policyPacks: packs.dirs,
    policyPackConfigs: packs.configs,
  };
  const toolchain = { runtime: entry.runtime, plugins: [] as UsedPlugin[] };
  try {
    // The plugins a program needs are the same for each of its stacks: asked once per checkout.
    toolchain.plugins = await once(ctx, `plugins:${ctx.checkoutKey ?? ctx.checkout}:${entry.projectDir}`, () =>
      ensurePlugins(workDir, {
        home: target.pulumiHome,
        sources,
        env: { ...target.env, PULUMI_BACKEND_URL: target.backendUrl, PULUMI_CONFIG_PASSPHRASE: target.passphrase },
        progress: (line) => ctx.progress(`${name}: ${line}`),
        signal: ctx.signal,
        runtime: entry.runtime,
      }),
    );
  } catch (err) {
    return { ...failed(messageOf(err)), ...toolchain };
  }
  let scratch: string | undefined;
  if (runOpts.scratchBackendForNewStacks && !(await stackExists(target).catch(() => false))) {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), "stackd-scratch-"));
    ctx.progress(`${name}: new stack: previewing in a scratch backend`);
    target.backendUrl = `file://${scratch}`;
  }
  const planDir = runOpts.reportPlan && !runOpts.savePlan ? fs.mkdtempSync(path.join(os.tmpdir(), "stackd-plan-")) : undefined;
  try {
    const opts = planDir ? { ...runOpts, savePlan: path.join(planDir, "plan.json") } : runOpts;
    const references = new Set<string>();
    const outcome = await operate(entry, ctx, mode, opts, target, references);
    // What an up leaves is what its dependents read: a change of outputs cascades to them.
    const applied = (mode === "apply" || mode === "up") && (outcome.status === "applied" || outcome.status === "unchanged");
    const outputs = applied ? await stackOutputs(target).catch((err: unknown) => (ctx.progress(`${name}: cannot read the stack's outputs: ${messageOf(err)}`), undefined)) : undefined;
    return { ...outcome, ...toolchain, references: [...references], ...(outputs ? { outputs } : {}) };
  } finally {
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
    if (planDir) fs.rmSync(planDir, { recursive: true, force: true });
  }
}

/** What the time limits are named for: a drift check and an adopt's first step are refreshes. */
function limitKind(op: Operation): keyof Timeouts {
  return op === "up" ? "up" : op === "destroy" ? "destroy" : op === "preview" || op === "destroy-preview" ? "preview" : "refresh";
}

/**
 * One operation within its time limit. Past the limit, or when the run is
 * cancelled or stopped, the engine is interrupted the way Pulumi cancels
 * (then its process groups end after a grace), and the stack's lock and
 * pending operations are cleared so its next run is not refused.
 */
async function step(target: StackTarget, op: Operation, ctx: RunContext, limits: Timeouts, opts: OperationOptions = {}): Promise<OperationResult & { aborted?: boolean }> {
  const kind = limitKind(op);
  const timeout = AbortSignal.timeout(limits[kind]);
  const signal = ctx.signal ? AbortSignal.any([ctx.signal, timeout]) : timeout;
  if (ctx.signal?.aborted) return { ok: false, resources: [], policy: [], changes: emptyCounts(), log: "", references: [], error: `stopped before ${kind}`, aborted: true };
  const onOutput = ctx.output
    ? (chunk: string) => {
        opts.onOutput?.(chunk);
        ctx.output!(chunk);
      }
    : opts.onOutput;
  const result = await runOperation(target, op, { ...opts, onOutput, signal });
  if (!signal.aborted) return result;
  await recoverStack(target).catch(() => 0);
  const why = ctx.signal?.aborted ? `stopped during ${kind}` : `timed out after ${formatDuration(limits[kind])} during ${kind}`;
  ctx.progress(`${target.stack}: ${why}`);
  return { ...result, ok: false, error: why, aborted: true };
}

/** The operations of one run, in order, on a prepared target. */
async function operate(entry: StackEntry, ctx: RunContext, mode: RunMode, runOpts: RunOptions, target: StackTarget, references: Set<string>): Promise<StackOutcome> {
  const name = `${entry.project}/${entry.stack}`;
  const base = { project: entry.project, stack: entry.stack, policy: [], log: "" };
  const limits = settingsFor(ctx.settings, entry.project, entry.stack).timeouts;
  const run = async (op: Operation, o: OperationOptions = {}) => {
    const result = await step(target, op, ctx, limits, { refresh: runOpts.refresh, ...o });
    for (const r of result.references) references.add(r);
    return result;
  };
  let log = "";
  if (mode === "drift") {
    ctx.progress(`${name}: checking drift`);
    const check = await run("drift-check");
    const drifted = check.resources.filter((r) => r.op === "drift" || r.op === "deleted");
    const status = !check.ok ? "failed" : drifted.length > 0 ? "drifted" : "in-sync";
    ctx.progress(`${name}: ${status}${drifted.length ? ` (${drifted.length} resource(s))` : ""}`);
    return { ...base, status, changes: check.changes, resources: check.resources, error: check.ok ? null : locate(entry, check.error), log: check.log };
  }
  if (mode === "destroy" || mode === "destroy-preview") return destroy(name, base, target, mode, runOpts, run, ctx.progress);
  if (mode === "adopt") {
    ctx.progress(`${name}: refreshing the state from the cloud`);
    const refresh = await run("refresh");
    log += refresh.log;
    if (!refresh.ok) return { ...base, status: "failed", changes: refresh.changes, resources: refresh.resources, error: locate(entry, refresh.error), log };
  }
  if (mode === "apply") {
    // One engine pass, as `pulumi up --yes`: it previews with the packs first, and a
    // mandatory violation found there stops it before anything changes.
    ctx.progress(`${name}: previewing`);
    const up = await run("up", { previewFirst: true, onOutput: onUpdatePhase(() => ctx.progress(`${name}: applying`)) });
    const outcome = { ...base, policy: up.policy, changes: up.changes, resources: up.resources, log: up.log };
    const blocked = blockedBy(up.policy);
    if (blocked) {
      ctx.progress(`${name}: ${blocked}`);
      return { ...outcome, status: "blocked", error: blocked };
    }
    if (!up.ok) {
      const error = locate(entry, up.error);
      ctx.progress(`${name}: failed: ${error}`);
      return { ...outcome, status: "failed", error };
    }
    ctx.progress(`${name}: ${hasChanges(up) ? "applied" : "no changes"}`);
    return { ...outcome, status: hasChanges(up) ? "applied" : "unchanged", error: null };
  }
  let plan: StackOutcome["plan"];
  if (mode !== "up") {
    ctx.progress(`${name}: previewing`);
    // What the plan is made against: an approval applies it only onto this very state.
    const checkpoint = runOpts.savePlan ? await stateCheckpoint(target).catch((err: unknown) => `unknown (${messageOf(err)})`) : undefined;
    if (runOpts.savePlan) fs.mkdirSync(path.dirname(runOpts.savePlan), { recursive: true });
    const preview = await run("preview", { savePlan: runOpts.savePlan });
    log += preview.log;
    if (runOpts.savePlan && checkpoint && preview.ok && fs.existsSync(runOpts.savePlan)) plan = { digest: fileDigest(runOpts.savePlan), checkpoint };
    const outcome = { ...base, policy: preview.policy, changes: preview.changes, resources: preview.resources, log };
    const blocked = blockedBy(preview.policy);
    if (blocked) {
      ctx.progress(`${name}: ${blocked}`);
      return { ...outcome, status: "blocked", error: blocked };
    }
    if (!preview.ok) return { ...outcome, status: "failed", error: locate(entry, preview.error) };
    if (!hasChanges(preview)) {
      ctx.progress(`${name}: no changes`);
      return { ...outcome, status: mode === "adopt" ? "adopted" : "unchanged", error: null };
    }
    if (mode === "preview") {
      ctx.progress(`${name}: previewed${plan ? ` (plan sha256:${plan.digest.slice(0, 12)})` : ""}`);
      return { ...outcome, status: "previewed", error: null, plan, planDigest: plan?.digest };
    }
    if (mode === "adopt") {
      ctx.progress(`${name}: adopted; ${preview.resources.filter((r) => r.op !== "same").length} resource(s) now differ from the code`);
      return { ...outcome, status: "adopted", error: null };
    }
  }
  if (runOpts.approvedPlan) {
    const refused = await planNoLongerHolds(target, runOpts.approvedPlan, (op, o) => run(op, o));
    log += refused.log;
    if (refused.reason) {
      const error = `the plan no longer holds: ${refused.reason}; a new preview is queued`;
      ctx.progress(`${name}: ${error}`);
      return { ...base, status: "failed", changes: emptyCounts(), resources: [], error, log, replan: true };
    }
    plan = { digest: runOpts.approvedPlan.digest, checkpoint: runOpts.approvedPlan.checkpoint };
  }
  ctx.progress(`${name}: applying`);
  const up = await run("up", { plan: runOpts.approvedPlan?.file });
  log += up.log;
  // The engine refuses any step outside the plan; a refusal means the world moved mid-apply.
  const violation = runOpts.approvedPlan && !up.ok ? planViolation(`${up.error}\n${up.log}`) : undefined;
  if (violation) {
    const error = `the plan no longer holds: ${violation}; a new preview is queued`;
    ctx.progress(`${name}: ${error}`);
    return { ...base, policy: up.policy, status: "failed", changes: up.changes, resources: up.resources, error, log, plan, replan: true };
  }
  // An approved up runs the packs again: a mandatory violation still stops it.
  const blocked = mode === "up" ? blockedBy(up.policy) : undefined;
  const error = blocked ?? (up.ok ? null : locate(entry, up.error));
  ctx.progress(`${name}: ${error ? `failed: ${error}` : "applied"}`);
  const status = blocked ? "blocked" : error ? "failed" : "applied";
  return { ...base, policy: up.policy, status, changes: up.changes, resources: up.resources, error, log, plan };
}

/**
 * A prune: every resource of the stack deleted, then the stack removed from
 * its backend; or, for an approval, what that would delete, bound to the
 * state checkpoint it was previewed against (the approved destroy refuses
 * any other state, and a new preview is queued).
 */
async function destroy(
  name: string,
  base: Pick<StackOutcome, "project" | "stack" | "policy" | "log">,
  target: StackTarget,
  mode: "destroy" | "destroy-preview",
  runOpts: RunOptions,
  run: (op: Operation, o?: OperationOptions) => Promise<OperationResult>,
  progress: (line: string) => void,
): Promise<StackOutcome> {
  const checkpoint = await stateCheckpoint(target);
  if (mode === "destroy-preview") {
    const preview = await run("destroy-preview");
    const outcome = { ...base, changes: preview.changes, resources: preview.resources, log: preview.log };
    if (!preview.ok) return { ...outcome, status: "failed", error: preview.error ?? "the destroy preview failed" };
    const digest = createHash("sha256").update(JSON.stringify(preview.resources.map((r) => [r.urn, r.op]))).digest("hex");
    progress(`${name}: destroy previewed: ${preview.changes.delete} resource(s) to delete`);
    return { ...outcome, status: "previewed", error: null, plan: { digest, checkpoint } };
  }
  if (runOpts.approvedCheckpoint && runOpts.approvedCheckpoint !== checkpoint) {
    const error = `the plan no longer holds: the stack's state changed since the destroy was previewed (checkpoint ${runOpts.approvedCheckpoint.slice(0, 12)} -> ${checkpoint.slice(0, 12)}); a new preview is queued`;
    return { ...base, status: "failed", changes: emptyCounts(), resources: [], error, replan: true };
  }
  progress(`${name}: destroying`);
  const destroyed = await run("destroy");
  const outcome = { ...base, changes: destroyed.changes, resources: destroyed.resources, log: destroyed.log };
  if (!destroyed.ok) return { ...outcome, status: "failed", error: destroyed.error ?? "destroy failed" };
  try {
    await removeStack(target);
  } catch (err) {
    return { ...outcome, status: "failed", error: `destroyed ${destroyed.changes.delete} resource(s), but the stack could not be removed: ${messageOf(err)}` };
  }
  progress(`${name}: destroyed ${destroyed.changes.delete} resource(s); stack removed`);
  return { ...outcome, status: "destroyed", error: null };
}

/**
 * Why an approved plan cannot be applied as it is, or undefined when it can:
 * the saved file must be the one approved, the state the one it was made
 * against, and a fresh preview must plan exactly the same steps and inputs
 * (a program input read from the cloud or elsewhere may have moved). Checked
 * before the up, so a plan that no longer holds changes nothing.
 */
async function planNoLongerHolds(
  target: StackTarget,
  approved: SavedPlan,
  run: (op: Operation, o: OperationOptions) => Promise<OperationResult>,
): Promise<{ reason?: string; log: string }> {
  if (!fs.existsSync(approved.file) || fileDigest(approved.file) !== approved.digest) {
    return { reason: `the saved plan ${approved.file} is missing or not the one approved (sha256:${approved.digest.slice(0, 12)})`, log: "" };
  }
  const checkpoint = await stateCheckpoint(target);
  if (checkpoint !== approved.checkpoint) {
    return { reason: `the stack's state changed since the preview (checkpoint ${approved.checkpoint.slice(0, 12)} -> ${checkpoint.slice(0, 12)})`, log: "" };
  }
  const fresh = `${approved.file}.now.json`;
  try {
    const preview = await run("preview", { savePlan: fresh });
    if (!preview.ok) return { reason: `a fresh preview failed: ${preview.error}`, log: preview.log };
    return { reason: planDifference(approved.file, fresh), log: preview.log };
  } finally {
    fs.rmSync(fresh, { force: true });
  }
}
