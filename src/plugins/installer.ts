import path from "node:path";
import { engineErrorLine, installPlugin, requiredPlugins, type PluginRef } from "../pulumi/index.ts";
import { StackdError, singleFlight, withFileLock } from "../support/index.ts";
import { compareVersions, findInstalled, listPlugins, tarballName } from "./cache.ts";
import { recordRequirements, recordedRequirements, requirementsKey } from "./requirements.ts";
import { describeSource, tarballIn, tarballsIn, versionsIn, type PluginSource } from "./sources.ts";

/** A plugin a run used, as the ledger records it. */
export interface UsedPlugin {
  kind: string;
  name: string;
  version: string;
  sha256: string;
}

/** Where plugins go, where they come from, and the operation's environment. */
export interface EnsureOptions {
  home: string;
  sources: PluginSource[];
  /** The operation's environment (cloud endpoint, credentials); the engine needs it to ask the language host. */
  env: Record<string, string>;
  progress?: (line: string) => void;
  signal?: AbortSignal;
  /** The program's runtime: with it, the requirements are asked once per set of deciding files (see requirementsKey). */
  runtime?: string;
}

const inFlight = new Map<string, Promise<unknown>>();

/** A version for a plugin the program leaves open: the newest the cache or the offline dir holds. */
function resolveVersion(ref: PluginRef, opts: EnsureOptions): string | null {
  const known = [
    ...listPlugins(opts.home).filter((p) => p.kind === ref.kind && p.name === ref.name).map((p) => p.version),
    ...opts.sources.flatMap((s) => (s.kind === "dir" ? versionsIn(s.dir, ref.kind, ref.name) : [])),
  ].sort(compareVersions);
  return known.at(-1) ?? null;
}

/** Tries each source in order; returns null when one installed it, else every source's answer. */
async function installFromSources(ref: PluginRef & { version: string }, opts: EnsureOptions): Promise<string[] | null> {
  const answers: string[] = [];
  for (const source of opts.sources) {
    let result: { ok: true } | { ok: false; error: string };
    if (source.kind === "dir") {
      const file = tarballIn(source.dir, ref.kind, ref.name, ref.version);
      if (!file) {
        answers.push(`${describeSource(source)}: no ${tarballName(ref.kind, ref.name, ref.version)}`);
        continue;
      }
      result = await installPlugin(ref, opts.home, { file, env: opts.env, signal: opts.signal });
    } else {
      result = await installPlugin(ref, opts.home, { env: { ...opts.env, ...(source.kind === "mirror" ? source.env : {}) }, signal: opts.signal });
    }
    if (result.ok) {
      opts.progress?.(`plugin ${ref.kind} ${ref.name} v${ref.version}: installed from ${describeSource(source)}`);
      return null;
    }
    answers.push(`${describeSource(source)}: ${shortAnswer(result.error)}`);
  }
  return answers;
}

/**
 * The engine says "…: 404 HTTP error fetching plugin from …", or retries a
 * network error and then says "failed all 5 attempts"; people need the
 * status or the network error.
 */
function shortAnswer(output: string): string {
  const status = /\b([45]\d\d) HTTP error/.exec(output);
  if (status) return status[1]!;
  const net = /(connection refused|no such host|i\/o timeout|network is unreachable|connection reset by peer|certificate [^\n]*)/i.exec(output);
  return net ? net[1]! : engineErrorLine(output);
}

/** Installs one plugin unless the cache has it; once per plugin across stacks and processes. */
function ensureOne(ref: PluginRef & { version: string }, opts: EnsureOptions): Promise<UsedPlugin> {
  const key = `${ref.kind}-${ref.name}-v${ref.version}`;
  return singleFlight(inFlight, `${opts.home}:${key}`, async () => {
    const cached = findInstalled(opts.home, ref.kind, ref.name, ref.version);
    if (cached) return { kind: ref.kind, name: ref.name, version: ref.version, sha256: cached.sha256 };
    return withFileLock(path.join(opts.home, "plugins", ".stackd-locks", `${key}.lock`), async () => {
      // Another process may have installed it while this one waited.
      let installed = findInstalled(opts.home, ref.kind, ref.name, ref.version);
      if (!installed) {
        opts.progress?.(`plugin ${ref.kind} ${ref.name} v${ref.version}: not in the cache; fetching`);
        const answers = await installFromSources(ref, opts);
        if (answers) throw new StackdError(`plugin ${ref.kind} ${ref.name} v${ref.version}: not found (${answers.join("; ")})`);
        installed = findInstalled(opts.home, ref.kind, ref.name, ref.version);
        if (!installed) throw new StackdError(`plugin ${ref.kind} ${ref.name} v${ref.version}: the engine reported it installed, but ${path.join(opts.home, "plugins")} does not hold it`);
      }
      return { kind: ref.kind, name: ref.name, version: ref.version, sha256: installed.sha256 };
    });
  });
}

/**
 * Makes sure every plugin a program needs is in the shared cache before its
 * operation runs, and says which ones it used. The program's dependencies
 * must be installed first: the language host reads them.
 */
export async function ensurePlugins(workDir: string, opts: EnsureOptions): Promise<UsedPlugin[]> {
  const key = opts.runtime ? requirementsKey(workDir, opts.runtime) : undefined;
  let required = key ? recordedRequirements(key) : undefined;
  if (!required) {
    required = await requiredPlugins(workDir, { ...opts.env, PULUMI_HOME: opts.home }, opts.signal);
    if (key) recordRequirements(key, required);
  }
  const used: UsedPlugin[] = [];
  for (const ref of required) {
    let version = ref.version;
    if (!version) {
      version = resolveVersion(ref, opts);
      if (!version && opts.sources.every((s) => s.kind !== "default")) {
        const tried = opts.sources.map(describeSource).join(", ");
        throw new StackdError(
          `plugin ${ref.kind} ${ref.name}: the program does not pin a version and neither the cache nor ${tried} can say which is latest; pin it (a package version, or \`version:\` in a YAML resource's options)`,
        );
      }
    }
    if (!version) {
      // Pulumi's own sources can tell the latest release.
      const answers = await installFromSources({ ...ref, version: "" } as PluginRef & { version: string }, opts);
      if (answers) throw new StackdError(`plugin ${ref.kind} ${ref.name} (latest): not found (${answers.join("; ")})`);
      version = resolveVersion(ref, opts);
      if (!version) continue;
    }
    used.push(await ensureOne({ ...ref, version }, opts));
  }
  return used.sort((a, b) => a.name.localeCompare(b.name));
}

/** Every plugin tarball for this machine in a directory, pre-seeded into the cache (air-gapped hosts). */
export async function installFromDir(dir: string, home: string, progress?: (line: string) => void): Promise<{ plugin: UsedPlugin; installed: boolean }[]> {
  const tarballs = tarballsIn(dir);
  if (tarballs.length === 0) {
    throw new StackdError(`no plugin tarballs for this machine in ${dir} (expected names like ${tarballName("resource", "random", "4.18.2")})`, { kind: "usage", where: "--dir" });
  }
  const out: { plugin: UsedPlugin; installed: boolean }[] = [];
  for (const ref of tarballs) {
    const before = findInstalled(home, ref.kind, ref.name, ref.version);
    const plugin = await ensureOne(ref, { home, sources: [{ kind: "dir", dir }], env: {}, progress });
    out.push({ plugin, installed: !before });
  }
  return out;
}
