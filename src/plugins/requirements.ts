// Which plugins a program needs is asked of its language host (`pulumi
// about`, ~2 s), and depends only on files that rarely change: asked once
// per distinct set of those files, machine-wide.
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { PluginRef } from "../pulumi/index.ts";
import { cacheDir } from "../support/index.ts";

/** Files that decide a runtime's plugins: its manifests and lockfiles (a YAML program's are its sources). */
const DECIDING: Record<string, RegExp> = {
  nodejs: /^(package\.json|package-lock\.json|yarn\.lock|pnpm-lock\.yaml)$/,
  python: /^(requirements\.txt|pyproject\.toml|uv\.lock|poetry\.lock)$/,
  go: /^(go\.mod|go\.sum)$/,
};

/** Directories no program's plugins are decided in. */
const SKIP = new Set(["node_modules", ".git", "venv", ".venv", "__pycache__"]);

/** Stack config files (Pulumi.<stack>.yaml) name no plugins. */
const stackConfig = (name: string) => /^Pulumi\.[^.]+\.ya?ml$/.test(name);

function filesIn(dir: string, rel = ""): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(path.join(dir, rel), { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const p = path.join(rel, e.name);
    if (e.isDirectory() && !SKIP.has(e.name)) out.push(...filesIn(dir, p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/**
 * A key for a program's plugin requirements: the hash of Pulumi.yaml and the
 * files that decide its runtime's plugins (every file for runtimes stackd
 * does not know, and for YAML, whose resources name their packages).
 */
export function requirementsKey(workDir: string, runtime: string): string {
  const deciding = DECIDING[runtime];
  const hash = createHash("sha256").update(`${runtime}\0`);
  for (const f of filesIn(workDir)) {
    const name = path.basename(f);
    if (stackConfig(name)) continue;
    if (deciding && name !== "Pulumi.yaml" && !deciding.test(name)) continue;
    hash.update(`${f}\0`).update(fs.readFileSync(path.join(workDir, f))).update("\0");
  }
  return hash.digest("hex").slice(0, 32);
}

const file = (key: string) => path.join(cacheDir(), "plugin-requirements", `${key}.json`);

/** The requirements recorded for a key, if any. */
export function recordedRequirements(key: string): PluginRef[] | undefined {
  try {
    return JSON.parse(fs.readFileSync(file(key), "utf8")) as PluginRef[];
  } catch {
    return undefined;
  }
}

/** Records a program's requirements under its key (atomically: readers never see half a file). */
export function recordRequirements(key: string, refs: PluginRef[]): void {
  fs.mkdirSync(path.dirname(file(key)), { recursive: true });
  const tmp = `${file(key)}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(refs));
  fs.renameSync(tmp, file(key));
}
