import fs from "node:fs";
import path from "node:path";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { StackdError, cacheDir, shortHash } from "../support/index.ts";

const run = promisify(execFile);

/**
 * Installs a nodejs project's own dependencies with `npm ci`, once per
 * lockfile: the result is kept in the machine cache under the hash of
 * package.json and package-lock.json and linked into the checkout, so an
 * unchanged lockfile never reinstalls, across revisions and data dirs alike.
 * Returns true when an install ran.
 */
export async function installDependencies(projectDir: string, label: string, onProgress?: (line: string) => void): Promise<boolean> {
  const pkg = path.join(projectDir, "package.json");
  if (!fs.existsSync(pkg)) return false;
  const lock = path.join(projectDir, "package-lock.json");
  if (!fs.existsSync(lock)) {
    throw new StackdError("no package-lock.json beside package.json: commit one (run `npm install`) so installs are reproducible", {
      kind: "config",
      where: path.join(label, "package.json"),
    });
  }
  const key = shortHash(fs.readFileSync(pkg), fs.readFileSync(lock));
  const target = path.join(cacheDir(), "deps", key);
  let installed = false;
  if (!fs.existsSync(path.join(target, ".complete"))) {
    onProgress?.(`installing dependencies of ${label || "."} (lockfile ${key})`);
    const tmp = `${target}.${process.pid}.${Date.now()}`;
    fs.mkdirSync(tmp, { recursive: true });
    fs.copyFileSync(pkg, path.join(tmp, "package.json"));
    fs.copyFileSync(lock, path.join(tmp, "package-lock.json"));
    try {
      await run("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], {
        cwd: tmp,
        env: { ...process.env, PATH: [path.dirname(process.execPath), process.env.PATH].join(path.delimiter) },
        maxBuffer: 64 * 1024 * 1024,
      });
    } catch (err) {
      fs.rmSync(tmp, { recursive: true, force: true });
      const stderr = String((err as { stderr?: string }).stderr ?? "").trim().split("\n").filter((l) => /error/i.test(l));
      throw new StackdError(`npm ci failed: ${stderr.slice(0, 3).join(" ") || (err as Error).message}`, {
        where: path.join(label, "package-lock.json"),
        cause: err,
      });
    }
    fs.writeFileSync(path.join(tmp, ".complete"), "");
    // Another process may have finished the same install meanwhile: keep theirs.
    try {
      fs.renameSync(tmp, target);
      installed = true;
    } catch {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }
  const link = path.join(projectDir, "node_modules");
  fs.rmSync(link, { recursive: true, force: true });
  fs.symlinkSync(path.join(target, "node_modules"), link, "dir");
  return installed;
}
