import fs from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { PulumiCommand } from "@pulumi/pulumi/automation/index.js";
import { StackdError, cacheDir, shortHash } from "../support/index.ts";
import { wrapperScript } from "./process-groups.ts";

/** The Pulumi engine stackd drives: the CLI plus its nodejs language host. */
export interface Toolchain {
  command: PulumiCommand;
  binDir: string;
}

/**
 * Settings every Pulumi process gets: no update checks (this engine is built
 * locally). Plugin acquisition stays Pulumi's, steered per run by the plugin
 * sources (see plugins/).
 */
export const ENGINE_FLAGS = {
  PULUMI_SKIP_UPDATE_CHECK: "true",
} as const;

function candidateRoots(): string[] {
  const roots: string[] = [];
  if (process.env.STACKD_PULUMI_ROOT) roots.push(process.env.STACKD_PULUMI_ROOT);
  roots.push(path.join(cacheDir(), "engine", "current"));
  try {
    const onPath = execFileSync("sh", ["-c", "command -v pulumi"], { encoding: "utf8" }).trim();
    if (onPath) roots.push(path.dirname(path.dirname(fs.realpathSync(onPath))));
  } catch {
    // no pulumi on PATH: the built engine is the only option
  }
  return roots;
}

/** A bin/pulumi beside nothing else, that runs the real CLI in a process group of its own (see process-groups.ts). */
function wrapperRoot(realPulumi: string): string {
  const root = path.join(cacheDir(), "engine-wrapper", shortHash(realPulumi));
  const file = path.join(root, "bin", "pulumi");
  const script = wrapperScript(realPulumi);
  if (!fs.existsSync(file) || fs.readFileSync(file, "utf8") !== script) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}`;
    fs.writeFileSync(tmp, script, { mode: 0o755 });
    fs.renameSync(tmp, file);
  }
  return root;
}

let cached: Promise<Toolchain> | undefined;

/** Finds the engine `npm run setup` built (or a usable one on PATH), once per process. */
export function loadToolchain(): Promise<Toolchain> {
  cached ??= (async () => {
    Object.assign(process.env, ENGINE_FLAGS);
    for (const candidate of candidateRoots()) {
      // The real directory, not the `current` link: the engine warns when a host's path differs from its own.
      const root = fs.existsSync(candidate) ? fs.realpathSync(candidate) : candidate;
      const binDir = path.join(root, "bin");
      if (!fs.existsSync(path.join(binDir, "pulumi")) || !fs.existsSync(path.join(binDir, "pulumi-language-nodejs"))) continue;
      // The CLI runs through a wrapper that makes each operation a process group of its own.
      const command = await PulumiCommand.get({ root: wrapperRoot(path.join(binDir, "pulumi")) });
      return { command, binDir };
    }
    throw new StackdError("no Pulumi engine found: run `npm run setup` to build it (or put pulumi and pulumi-language-nodejs on PATH)", {
      kind: "config",
      where: "toolchain",
    });
  })();
  cached.catch(() => (cached = undefined));
  return cached;
}

/**
 * The environment of one Pulumi operation. The engine binaries come first on
 * PATH, then the node running stackd, so programs and dynamic providers run on
 * the same Node stackd does.
 */
export function engineEnv(tc: Toolchain, extra: Record<string, string>): Record<string, string> {
  // A runtime's own PATH entries (a program's virtualenv) come after the engine's, before the rest.
  const { PATH: runtimePath, ...rest } = extra;
  return {
    ...ENGINE_FLAGS,
    // TypeScript programs compiled by the engine are cached in stackd's own (private) cache, not world-readable in /tmp.
    ...(process.env.TS_NODE_CACHE_DIRECTORY ? {} : { TS_NODE_CACHE_DIRECTORY: path.join(cacheDir(), "ts-node") }),
    PATH: [tc.binDir, ...(runtimePath ? [runtimePath] : []), path.dirname(process.execPath), process.env.PATH ?? ""].join(path.delimiter),
    ...rest,
  };
}

/** The language hosts stackd can run programs with: beside the CLI, else on PATH. */
export async function languageHosts(): Promise<{ runtime: string; path: string }[]> {
  const tc = await loadToolchain();
  const dirs = [tc.binDir, ...(process.env.PATH ?? "").split(path.delimiter).filter(Boolean)];
  const found = new Map<string, string>();
  for (const dir of dirs) {
    let names: string[] = [];
    try {
      names = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      const m = /^pulumi-language-([\w-]+)$/.exec(name);
      // pulumi-language-python-exec is the Python host's helper script, not a host.
      if (m && !m[1]!.endsWith("-exec") && !found.has(m[1]!)) found.set(m[1]!, path.join(dir, name));
    }
  }
  return [...found].map(([runtime, p]) => ({ runtime, path: p })).sort((a, b) => a.runtime.localeCompare(b.runtime));
}

/** Where the language host of a runtime is, if stackd can find one. */
export async function findLanguageHost(runtime: string): Promise<string | undefined> {
  return (await languageHosts()).find((h) => h.runtime === runtime)?.path;
}
