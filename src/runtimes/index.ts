// Language runtimes: each program's dependencies, installed once per lockfile and shared.
import fs from "node:fs";
import path from "node:path";
import { StackdError } from "../support/index.ts";
import { findLanguageHost } from "../pulumi/index.ts";
import { prepareGo } from "./go.ts";
import { installNodeDependencies } from "./nodejs.ts";
import { preparePython } from "./python.ts";

/** A program ready to run: its runtime and the environment its operations need (a venv on PATH). */
export interface PreparedRuntime {
  runtime: string;
  env: Record<string, string>;
  /** Whether this call installed dependencies (false: the cache had them). */
  installed: boolean;
}

/**
 * Installs a program's dependencies the way its runtime expects, once per
 * lockfile hash: nodejs (npm, pnpm or yarn by lockfile), python (venv from
 * requirements.txt), go (modules), yaml (nothing to install). `dir` holds the
 * Pulumi.yaml (or PulumiPolicy.yaml); `label` names it in errors; `programDir`
 * is where the program runs (Pulumi.yaml's `main`), whose own manifest wins.
 */
export async function prepareRuntime(
  dir: string,
  label: string,
  runtime: string,
  options: Record<string, unknown>,
  progress?: (line: string) => void,
  programDir = dir,
): Promise<PreparedRuntime> {
  if (!(await findLanguageHost(runtime))) {
    throw new StackdError(`no language host for runtime ${runtime}: pulumi-language-${runtime} is neither beside the Pulumi CLI nor on PATH (\`npm run setup\` builds nodejs, python, go and yaml)`, {
      kind: "config",
      where: label ? `${label}/Pulumi.yaml` : "Pulumi.yaml",
    });
  }
  switch (runtime) {
    case "nodejs": {
      // Like node itself: the nearest package.json from the program up to the project.
      let at = programDir;
      while (at.startsWith(`${dir}${path.sep}`) && !fs.existsSync(path.join(at, "package.json"))) at = path.dirname(at);
      const rel = path.relative(dir, at);
      return { runtime, env: {}, installed: await installNodeDependencies(at, rel ? path.join(label, rel) : label, progress) };
    }
    case "python": {
      const { env, installed } = await preparePython(dir, label, options, progress);
      return { runtime, env, installed };
    }
    case "go":
      return { runtime, env: {}, ...(await prepareGo(dir, label, progress)) };
    default:
      // yaml and others carry no dependencies of their own.
      return { runtime, env: {}, installed: false };
  }
}
