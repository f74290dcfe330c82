import fs from "node:fs";
import path from "node:path";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function holderAlive(file: string): boolean {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(file, "utf8").trim());
  } catch {
    return true; // being written this instant: treat as held
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Runs `fn` while holding an exclusive lock file, so that work on one shared
 * directory (a plugin install, a virtualenv) happens once across every
 * stackd process on the machine. A lock left by a process that died is taken
 * over. Callers in one process must still serialize among themselves: the
 * lock records only the process id.
 */
export async function withFileLock<T>(file: string, fn: () => Promise<T>): Promise<T> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  for (;;) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: "wx" });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      if (!holderAlive(file)) fs.rmSync(file, { force: true });
      else await sleep(200);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(file, { force: true });
  }
}

/** One promise per key within this process: concurrent callers share the first one; a failure is forgotten. */
export function singleFlight<T>(inFlight: Map<string, Promise<unknown>>, key: string, fn: () => Promise<T>): Promise<T> {
  let p = inFlight.get(key) as Promise<T> | undefined;
  if (!p) {
    p = fn().finally(() => inFlight.delete(key));
    inFlight.set(key, p);
  }
  return p;
}
