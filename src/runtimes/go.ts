import fs from "node:fs";
import path from "node:path";
import { shortHash } from "../support/index.ts";
import { cachedBuild, runTool } from "./cache.ts";

/**
 * Prepares a Go program: its modules downloaded once per go.mod + go.sum
 * into Go's shared module cache. The language host builds the program
 * itself, and Go's build cache makes every build after the first quick.
 */
export async function prepareGo(dir: string, label: string, progress?: (line: string) => void): Promise<{ installed: boolean }> {
  const mod = path.join(dir, "go.mod");
  if (!fs.existsSync(mod)) return { installed: false };
  const sum = path.join(dir, "go.sum");
  const key = `go-${shortHash(fs.readFileSync(mod), fs.existsSync(sum) ? fs.readFileSync(sum) : "")}`;
  const { built } = await cachedBuild(key, async () => {
    progress?.(`downloading the Go modules of ${label || "."} (go.sum ${key})`);
    await runTool("go", ["mod", "download"], { cwd: dir, where: path.join(label, "go.mod"), errorLines: /^go: |error|missing|verifying/i });
  });
  return { installed: built };
}
