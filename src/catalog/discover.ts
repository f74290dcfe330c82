import fs from "node:fs";
import path from "node:path";
import { ProjectFileSchema, StackFileSchema, readYaml } from "./files.ts";

/** One stack a revision declares. Paths are relative to the repository root. */
export interface StackEntry {
  project: string;
  stack: string;
  /** The directory holding Pulumi.yaml. */
  projectDir: string;
  /** The directory the program runs from (Pulumi.yaml's `main`), where engine messages' paths start. */
  programDir: string;
  /** Pulumi.<stack>.yaml, or the project file when the project itself is broken. */
  configFile: string;
  runtime: string;
  /** Pulumi.yaml's `runtime.options` (virtualenv, toolchain, ...). */
  runtimeOptions: Record<string, unknown>;
  /** Set when the stack cannot run as declared; the reason names the file. */
  error?: string;
}

const SKIP_DIRS = new Set(["node_modules", ".git", "dist", "bin", "obj", "venv", ".venv", "__pycache__"]);
const PROJECT_FILES = ["Pulumi.yaml", "Pulumi.yml"];

function findProjectFiles(root: string, rel = ""): string[] {
  const dir = path.join(root, rel);
  const found: string[] = [];
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return found;
  }
  for (const e of entries) {
    if (e.isFile() && PROJECT_FILES.includes(e.name)) found.push(path.join(rel, e.name));
    else if (e.isDirectory() && !SKIP_DIRS.has(e.name) && !e.name.startsWith(".")) {
      found.push(...findProjectFiles(root, path.join(rel, e.name)));
    }
  }
  return found;
}

function stackFiles(dir: string): { stack: string; file: string }[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .map((f) => /^Pulumi\.(.+)\.ya?ml$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ stack: m[1]!, file: path.join(dir, m[0]) }))
    .sort((a, b) => a.stack.localeCompare(b.stack));
}

/** Why a nodejs program cannot be found, or undefined when it can. */
function missingProgram(root: string, projectDir: string, main: string | undefined): string | undefined {
  const target = path.join(root, projectDir, main ?? ".");
  const shown = path.join(projectDir, main ?? ".").replace(/\/$/, "");
  if (!fs.existsSync(target)) return `program not found: ${shown} does not exist (check \`main\` in Pulumi.yaml)`;
  if (fs.statSync(target).isFile()) return undefined;
  const candidates = ["index.ts", "index.js", "package.json"];
  if (candidates.some((c) => fs.existsSync(path.join(target, c)))) return undefined;
  return `program not found: ${shown}/ has no index.ts, index.js or package.json (add one, or set \`main\` in Pulumi.yaml)`;
}

/**
 * Every project and stack in a checked-out revision, following Pulumi's own
 * conventions: a directory with Pulumi.yaml is a project; its stacks are the
 * Pulumi.<stack>.yaml files in its stackConfigDir (or beside Pulumi.yaml).
 * Problems are attached to the stacks they affect instead of thrown, so one
 * broken project never hides the others.
 */
export function discoverStacks(root: string): StackEntry[] {
  const entries: StackEntry[] = [];
  for (const projectFile of findProjectFiles(root).sort()) {
    const projectDir = path.dirname(projectFile) === "." ? "" : path.dirname(projectFile);
    const read = readYaml(path.join(root, projectFile), ProjectFileSchema);
    if (!read.ok) {
      entries.push({
        project: projectDir || path.basename(root),
        stack: "*",
        projectDir,
        programDir: projectDir,
        configFile: projectFile,
        runtime: "unknown",
        runtimeOptions: {},
        error: `${projectFile}: ${read.reason}`,
      });
      continue;
    }
    const project = read.value;
    const runtime = typeof project.runtime === "string" ? project.runtime : project.runtime.name;
    const runtimeOptions = typeof project.runtime === "string" ? {} : (project.runtime.options ?? {});
    const configDir = path.join(projectDir, project.stackConfigDir ?? "");
    const programProblem = runtime === "nodejs" ? missingProgram(root, projectDir, project.main) : undefined;
    const stacks = stackFiles(path.join(root, configDir));
    const main = path.join(projectDir, project.main ?? ".");
    const programDir = fs.existsSync(path.join(root, main)) && fs.statSync(path.join(root, main)).isFile() ? path.dirname(main) : main;
    for (const { stack, file } of stacks) {
      const configFile = path.relative(root, file);
      const entry: StackEntry = { project: project.name, stack, projectDir, programDir: programDir === "." ? "" : programDir, configFile, runtime, runtimeOptions };
      const stackRead = readYaml(file, StackFileSchema);
      if (programProblem) entry.error = `${projectFile}: ${programProblem}`;
      else if (!stackRead.ok) entry.error = `${configFile}: ${stackRead.reason}`;
      entries.push(entry);
    }
  }
  return entries;
}
