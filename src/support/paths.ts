import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/** Where stackd keeps its state: ledger, worktrees, Pulumi state. */
export function defaultDataDir(): string {
  return process.env.STACKD_DATA_DIR || path.join(os.homedir(), ".stackd");
}

/** Machine-wide cache shared by every data dir: the engine and installed dependencies. */
export function cacheDir(): string {
  return process.env.STACKD_CACHE || path.join(os.homedir(), ".cache", "stackd");
}

/**
 * The Pulumi home whose plugins/ directory is the one plugin cache every
 * stack shares: $PULUMI_HOME when set (Pulumi's own convention), else one in
 * stackd's machine cache.
 */
export function pulumiHomeDir(env: Record<string, string | undefined> = process.env): string {
  return env.PULUMI_HOME || path.join(cacheDir(), "pulumi-home");
}

/** The stackd checkout itself, for the engine and node binaries installed beside it. */
export const installRoot = path.resolve(import.meta.dirname, "..", "..");

/** Bytes under a directory, links not followed (a checkout's node_modules link counts as a link). */
export function dirSize(dir: string): number {
  let total = 0;
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    try {
      total += e.isDirectory() ? dirSize(p) : fs.lstatSync(p).size;
    } catch {
      // removed meanwhile
    }
  }
  return total;
}

/**
 * Makes a directory its owner's alone (0700), creating it when missing, and
 * makes everything this process creates from now on owner-only (umask 077):
 * the data dir holds state, the ledger and tokens.
 */
export function privateDir(dir: string): void {
  process.umask(0o077);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dir, 0o700);
  // Files an earlier version left readable by others are closed too (the ledger, serve.json).
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.isFile()) fs.chmodSync(path.join(dir, e.name), fs.statSync(path.join(dir, e.name)).mode & 0o700);
    else if (e.isDirectory()) fs.chmodSync(path.join(dir, e.name), 0o700);
  }
}
