import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { StackdError, shortHash } from "../support/index.ts";
import { cachedBuild, linkInto, runTool } from "./cache.ts";

let pythonVersion: string | undefined;

/** The interpreter venvs are made from, and its version (part of each venv's key). */
function python(): { cmd: string; version: string } {
  const cmd = process.env.STACKD_PYTHON || "python3";
  try {
    pythonVersion ??= execFileSync(cmd, ["--version"], { encoding: "utf8" }).trim();
  } catch {
    throw new StackdError(`${cmd} is not installed (not on PATH): python programs need it (or set STACKD_PYTHON)`, { kind: "config" });
  }
  return { cmd, version: pythonVersion };
}

/**
 * Prepares a python program (or policy pack): a virtualenv with its
 * requirements.txt installed, made once per requirements hash in the machine
 * cache. With the `virtualenv` runtime option the venv is linked into the
 * checkout where Pulumi looks for it; without it, the venv's interpreter
 * comes first on PATH for the program's operations.
 */
export async function preparePython(
  dir: string,
  label: string,
  options: Record<string, unknown>,
  progress?: (line: string) => void,
): Promise<{ env: Record<string, string>; installed: boolean }> {
  const toolchain = typeof options.toolchain === "string" ? options.toolchain : "pip";
  if (toolchain !== "pip") {
    throw new StackdError(`runtime option toolchain: ${toolchain} is not supported by stackd; use pip with a requirements.txt`, {
      kind: "config",
      where: path.join(label, "Pulumi.yaml"),
    });
  }
  const requirements = path.join(dir, "requirements.txt");
  const text = fs.existsSync(requirements) ? fs.readFileSync(requirements) : Buffer.from("");
  const py = python();
  const key = `python-${shortHash(text, py.version)}`;
  const where = path.join(label, "requirements.txt");
  const { dir: target, built } = await cachedBuild(key, async (into) => {
    progress?.(`installing dependencies of ${label || "."} into a virtualenv (requirements ${key})`);
    await runTool(py.cmd, ["-m", "venv", path.join(into, "venv")], { cwd: dir, where, errorLines: /error/i });
    if (text.length > 0) {
      await runTool(path.join(into, "venv", "bin", "pip"), ["install", "--disable-pip-version-check", "--no-input", "-r", requirements], {
        cwd: dir,
        where,
        errorLines: /^ERROR:/,
      });
    }
  });
  const venv = path.join(target, "venv");
  if (typeof options.virtualenv === "string") {
    linkInto(path.resolve(dir, options.virtualenv), venv);
    return { env: {}, installed: built };
  }
  return { env: { PATH: path.join(venv, "bin"), VIRTUAL_ENV: venv }, installed: built };
}
