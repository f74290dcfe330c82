import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import { ProjectRuntimeSchema, readYaml, type PolicyPackSetting, type Settings, type StackSettings } from "../catalog/index.ts";
import { prepareRuntime } from "../runtimes/index.ts";
import { StackdError, messageOf, shortHash } from "../support/index.ts";

/** The pack directory used when stackd.yaml names none. */
export const DEFAULT_PACK_DIR = "policies";

/** A policy pack ready for the engine: its directory and the config file stackd wrote for it. */
export interface PreparedPacks {
  names: string[];
  dirs: string[];
  configs: string[];
}

function normalize(p: PolicyPackSetting) {
  return typeof p === "string" ? { path: p } : p;
}

/**
 * The directories of the packs that apply to a stack, for deciding which
 * changed paths affect it: the repository-wide list (default policies/) and
 * the stack's own.
 */
export function packDirsFor(settings: Settings, stack: StackSettings): string[] {
  return [...(settings.policyPacks ?? [DEFAULT_PACK_DIR]), ...stack.policyPacks].map((p) => path.posix.normalize(normalize(p).path).replace(/\/+$/, ""));
}

/** The packs that apply to one stack: the repository-wide list (default policies/), then the stack's own. */
export function packsFor(checkout: string, settings: Settings, stack: StackSettings) {
  const repoWide =
    settings.policyPacks ?? (fs.existsSync(path.join(checkout, DEFAULT_PACK_DIR, "PulumiPolicy.yaml")) ? [DEFAULT_PACK_DIR] : []);
  return [...repoWide, ...stack.policyPacks].map(normalize);
}

/**
 * Checks each pack is a pack, installs its dependencies (by its runtime,
 * cached by lockfile hash like any project's) and writes the per-policy config and
 * enforcement overrides as the engine's policy config JSON. Errors name the
 * pack and the cause.
 */
export async function preparePacks(
  checkout: string,
  packs: ReturnType<typeof packsFor>,
  progress?: (line: string) => void,
): Promise<PreparedPacks> {
  const out: PreparedPacks = { names: [], dirs: [], configs: [] };
  for (const pack of packs) {
    const dir = path.resolve(checkout, pack.path);
    const where = `policy pack ${pack.path}`;
    if (!dir.startsWith(path.resolve(checkout))) throw new StackdError("must be inside the repository", { kind: "config", where });
    if (!fs.existsSync(path.join(dir, "PulumiPolicy.yaml"))) {
      throw new StackdError(`no PulumiPolicy.yaml in ${pack.path}/ (check policyPacks in stackd.yaml)`, { kind: "config", where });
    }
    try {
      const manifest = readYaml(path.join(dir, "PulumiPolicy.yaml"), z.looseObject({ runtime: ProjectRuntimeSchema }));
      if (!manifest.ok) throw new StackdError(`PulumiPolicy.yaml: ${manifest.reason}`, { kind: "config" });
      const runtime = typeof manifest.value.runtime === "string" ? { name: manifest.value.runtime, options: {} } : manifest.value.runtime;
      if (runtime.name === "python" && typeof runtime.options?.virtualenv !== "string") {
        throw new StackdError("a python pack needs `runtime: { name: python, options: { virtualenv: venv } }` in PulumiPolicy.yaml: the engine runs it only from a virtualenv", { kind: "config" });
      }
      await prepareRuntime(dir, pack.path, runtime.name, runtime.options ?? {}, progress);
    } catch (err) {
      throw new StackdError(`cannot install its dependencies: ${messageOf(err)}`, { where, cause: err });
    }
    const config: Record<string, unknown> = {};
    for (const [policy, props] of Object.entries(pack.config ?? {})) config[policy] = { ...props };
    for (const [policy, level] of Object.entries(pack.enforcement ?? {})) {
      config[policy] = policy === "all" ? level : { ...(config[policy] as object), enforcementLevel: level };
    }
    // The engine pairs config files with packs by position, so every pack gets one.
    const text = JSON.stringify(config, null, 2);
    const file = path.join(dir, `.stackd-policy-config-${shortHash(text)}.json`);
    fs.writeFileSync(file, text);
    out.names.push(pack.path);
    out.dirs.push(dir);
    out.configs.push(file);
  }
  return out;
}
