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

/** How one Python toolchain installs a program's dependencies into a venv of stackd's. */
interface Toolchain {
  /** The files that pin the dependencies; the first must exist. */
  inputs: string[];
  install(venv: string, src: string, dir: string, where: string): Promise<void>;
  /** Where Pulumi's host looks for the venv when the `virtualenv` option is absent (none: on PATH). */
  defaultVenv?: string;
  /** Environment the operations need so the host finds the venv. */
  env?: Record<string, string>;
}

const TOOLCHAINS: Record<string, Toolchain> = {
  pip: {
    inputs: ["requirements.txt"],
    async install(venv, _src, dir, where) {
      // From the checkout: a requirements file may name others beside it.
      const requirements = path.join(dir, "requirements.txt");
      if (!fs.existsSync(requirements)) return;
      await runTool(path.join(venv, "bin", "pip"), ["install", "--disable-pip-version-check", "--no-input", "-r", requirements], {
        cwd: dir,
        where,
        errorLines: /^ERROR:/,
      });
    },
  },
  uv: {
    inputs: ["pyproject.toml", "uv.lock"],
    async install(venv, src, _dir, where) {
      const frozen = fs.existsSync(path.join(src, "uv.lock")) ? ["--frozen"] : [];
      // The project itself is the program, not a package to install.
      await runTool("uv", ["sync", "--no-install-project", ...frozen], { cwd: src, env: { UV_PROJECT_ENVIRONMENT: venv }, where, errorLines: /^error:|×|╰─▶/ });
    },
    defaultVenv: ".venv",
  },
  poetry: {
    inputs: ["pyproject.toml", "poetry.lock"],
    async install(venv, src, _dir, where) {
      // Poetry installs into the active venv when told not to make its own.
      await runTool("poetry", ["install", "--no-root", "--no-interaction"], {
        cwd: src,
        env: { VIRTUAL_ENV: venv, PATH: `${path.join(venv, "bin")}${path.delimiter}${process.env.PATH}`, POETRY_VIRTUALENVS_CREATE: "false" },
        where,
        errorLines: /error|not found|could not/i,
      });
    },
    defaultVenv: ".venv",
    // Pulumi's host asks `poetry env info --path`; an in-project venv is the one stackd links.
    env: { POETRY_VIRTUALENVS_IN_PROJECT: "true" },
  },
};

/**
 * Prepares a python program (or policy pack): a virtualenv with its
 * dependencies installed by the toolchain Pulumi.yaml names (pip from
 * requirements.txt by default, uv or poetry from pyproject.toml and their
 * lockfiles), made once per hash of those files in the machine cache. The
 * venv is linked where Pulumi's host looks for it (the `virtualenv` option,
 * or `.venv` for uv and poetry); with pip and no option, its interpreter
 * comes first on PATH for the program's operations.
 */
export async function preparePython(
  dir: string,
  label: string,
  options: Record<string, unknown>,
  progress?: (line: string) => void,
): Promise<{ env: Record<string, string>; installed: boolean }> {
  const name = typeof options.toolchain === "string" ? options.toolchain : "pip";
  const toolchain = TOOLCHAINS[name];
  if (!toolchain) {
    throw new StackdError(`runtime option toolchain: ${name} is not one stackd knows (pip, uv, poetry)`, { kind: "config", where: path.join(label, "Pulumi.yaml") });
  }
  const present = toolchain.inputs.filter((f) => fs.existsSync(path.join(dir, f)));
  const where = path.join(label, toolchain.inputs[0]!);
  if (name !== "pip" && !present.includes(toolchain.inputs[0]!)) {
    throw new StackdError(`toolchain ${name} needs a ${toolchain.inputs[0]} beside Pulumi.yaml`, { kind: "config", where });
  }
  const py = python();
  const key = `python-${name}-${shortHash(py.version, ...present.flatMap((f) => [f, fs.readFileSync(path.join(dir, f))]))}`;
  const { dir: target, built } = await cachedBuild(key, async (into) => {
    progress?.(`installing dependencies of ${label || "."} into a virtualenv with ${name} (${key})`);
    const src = path.join(into, "src");
    fs.mkdirSync(src);
    for (const f of present) fs.copyFileSync(path.join(dir, f), path.join(src, f));
    await runTool(py.cmd, ["-m", "venv", path.join(into, "venv")], { cwd: dir, where, errorLines: /error/i });
    await toolchain.install(path.join(into, "venv"), src, dir, where);
  });
  const venv = path.join(target, "venv");
  const at = typeof options.virtualenv === "string" ? options.virtualenv : toolchain.defaultVenv;
  if (at) {
    linkInto(path.resolve(dir, at), venv);
    return { env: { ...toolchain.env }, installed: built };
  }
  return { env: { PATH: path.join(venv, "bin"), VIRTUAL_ENV: venv }, installed: built };
}
