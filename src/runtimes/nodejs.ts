import fs from "node:fs";
import path from "node:path";
import { StackdError, shortHash } from "../support/index.ts";
import { cachedBuild, linkInto, runTool } from "./cache.ts";

/** The package managers stackd knows, by the lockfile that chooses them. */
const MANAGERS = [
  { lockfile: "package-lock.json", cmd: "npm", args: ["ci", "--no-audit", "--no-fund", "--loglevel=error"] },
  { lockfile: "pnpm-lock.yaml", cmd: "pnpm", args: ["install", "--frozen-lockfile"] },
  { lockfile: "yarn.lock", cmd: "yarn", args: ["install", "--frozen-lockfile", "--non-interactive"] },
] as const;

/**
 * Installs a nodejs program's (or policy pack's) dependencies with the
 * package manager its lockfile names, once per package.json + lockfile:
 * the result lives in the machine cache and its node_modules is linked into
 * the checkout. Returns true when an install ran.
 */
export async function installNodeDependencies(dir: string, label: string, progress?: (line: string) => void): Promise<boolean> {
  const pkg = path.join(dir, "package.json");
  if (!fs.existsSync(pkg)) return false;
  const manager = MANAGERS.find((m) => fs.existsSync(path.join(dir, m.lockfile)));
  if (!manager) {
    throw new StackdError("no lockfile beside package.json (package-lock.json, pnpm-lock.yaml or yarn.lock): commit one so installs are reproducible", {
      kind: "config",
      where: path.join(label, "package.json"),
    });
  }
  const lock = path.join(dir, manager.lockfile);
  const key = `node-${shortHash(fs.readFileSync(pkg), fs.readFileSync(lock))}`;
  const { dir: target, built } = await cachedBuild(key, async (into) => {
    progress?.(`installing dependencies of ${label || "."} with ${manager.cmd} (${manager.lockfile} ${key})`);
    fs.copyFileSync(pkg, path.join(into, "package.json"));
    fs.copyFileSync(lock, path.join(into, manager.lockfile));
    await runTool(manager.cmd, [...manager.args], {
      cwd: into,
      // The node running stackd comes first, so installs and programs agree on it.
      env: { PATH: [path.dirname(process.execPath), process.env.PATH].join(path.delimiter) },
      where: path.join(label, manager.lockfile),
      errorLines: /error|ERR_/i,
    });
  });
  linkInto(path.join(dir, "node_modules"), path.join(target, "node_modules"));
  return built;
}
