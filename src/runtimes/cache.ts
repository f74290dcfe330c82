import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { StackdError, cacheDir, singleFlight, withFileLock } from "../support/index.ts";

const inFlight = new Map<string, Promise<unknown>>();

/**
 * A directory in the machine cache built once per key (a lockfile or
 * requirements hash) and shared by every revision, stack and data dir.
 * It is built in place (virtualenvs cannot move) under a lock, marked
 * complete at the end, and removed when the build fails so the next run
 * tries again. Returns the directory and whether this call built it.
 */
export function cachedBuild(key: string, build: (dir: string) => Promise<void>): Promise<{ dir: string; built: boolean }> {
  const dir = path.join(cacheDir(), "deps", key);
  const done = () => fs.existsSync(path.join(dir, ".complete"));
  return singleFlight(inFlight, dir, async () => {
    if (done()) return { dir, built: false };
    return withFileLock(`${dir}.lock`, async () => {
      if (done()) return { dir, built: false };
      fs.rmSync(dir, { recursive: true, force: true });
      fs.mkdirSync(dir, { recursive: true });
      try {
        await build(dir);
      } catch (err) {
        fs.rmSync(dir, { recursive: true, force: true });
        throw err;
      }
      fs.writeFileSync(path.join(dir, ".complete"), "");
      return { dir, built: true };
    });
  });
}

/** Points `link` at `target`, replacing whatever was there (a checkout's own node_modules or venv). */
export function linkInto(link: string, target: string): void {
  fs.rmSync(link, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(link), { recursive: true });
  fs.symlinkSync(target, link, "dir");
}

/**
 * Runs an installer (npm, pip, go) and turns its failure into the tool's own
 * error lines, attributed to the file that asked for it.
 */
export function runTool(
  cmd: string,
  args: string[],
  opts: { cwd: string; env?: Record<string, string>; where: string; errorLines: RegExp; signal?: AbortSignal },
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      { cwd: opts.cwd, env: { ...process.env, ...opts.env }, maxBuffer: 64 * 1024 * 1024, signal: opts.signal },
      (err, stdout, stderr) => {
        if (!err) return resolve(String(stdout));
        if ((err as NodeJS.ErrnoException).code === "ENOENT") {
          return reject(new StackdError(`${cmd} is not installed (not on PATH): it is needed to install this program's dependencies`, { kind: "config", where: opts.where }));
        }
        const text = `${stderr}\n${stdout}`;
        const lines = text.split("\n").map((l) => l.trim()).filter((l) => opts.errorLines.test(l));
        const why = lines.slice(0, 3).join(" ") || text.trim().split("\n").slice(-2).join(" ") || err.message;
        reject(new StackdError(`${path.basename(cmd)} ${args[0]} failed: ${why}`, { where: opts.where, cause: err }));
      },
    );
  });
}
