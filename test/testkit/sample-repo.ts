// Builds a throwaway git repository holding stackd's sample infrastructure,
// for the demo and the tests, and edits it the way a person would: commits.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { installRoot } from "../../src/support/index.ts";

// The sample program carries its own manifest (infra/package.json): stackd's own stays out.
const SAMPLE_FILES = ["Pulumi.yaml", "infra", "stacks", "policies"];

export interface SampleRepo {
  dir: string;
  git(...args: string[]): string;
  /** Writes files (path relative to the repo -> content) and commits them; returns the new head. */
  commit(files: Record<string, string>, message: string): string;
  read(file: string): string;
  head(): string;
}

export function createSampleRepo(parent = fs.mkdtempSync(path.join(os.tmpdir(), "stackd-sample-"))): SampleRepo {
  return createRepoFrom(Object.fromEntries(SAMPLE_FILES.map((f) => [f, f])), parent);
}

/**
 * A repository holding the further sample programs of examples/ (one
 * project per runtime: typescript, python, yaml, go), each in a folder of
 * its own name at the repository root.
 */
export function createExamplesRepo(projects: string[], parent = fs.mkdtempSync(path.join(os.tmpdir(), "stackd-examples-"))): SampleRepo {
  return createRepoFrom(Object.fromEntries(projects.map((p) => [path.join("examples", p), p])), parent);
}

/** A git repository whose first commit holds files of this checkout (source path -> path in the repository). */
function createRepoFrom(files: Record<string, string>, parent: string): SampleRepo {
  const dir = path.join(parent, "infra-repo");
  fs.mkdirSync(dir, { recursive: true });
  for (const [from, to] of Object.entries(files)) fs.cpSync(path.join(installRoot, from), path.join(dir, to), { recursive: true });
  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.email=dev@example.com", "-c", "user.name=Dev", ...args], { cwd: dir, encoding: "utf8" }).trim();
  git("init", "-q", "-b", "main");
  git("add", "-A");
  git("commit", "-q", "-m", "sample infrastructure");
  return {
    dir,
    git,
    commit(files, message) {
      for (const [file, content] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
        fs.writeFileSync(path.join(dir, file), content);
      }
      git("add", "-A");
      git("commit", "-q", "-m", message);
      return git("rev-parse", "HEAD");
    },
    read: (file) => fs.readFileSync(path.join(dir, file), "utf8"),
    head: () => git("rev-parse", "HEAD"),
  };
}
