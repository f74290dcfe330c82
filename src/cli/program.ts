import { Command, CommanderError } from "commander";
import { StackdError, defaultDataDir, messageOf } from "../support/index.ts";
import { reconcileCommand } from "./reconcile.ts";

const EXIT_FOR_KIND = { usage: 2, config: 2, runtime: 1 } as const;

/** Runs a command action and turns its outcome into the process exit code. */
function action<A extends unknown[]>(fn: (...args: A) => Promise<number>) {
  return async (...args: A) => {
    try {
      process.exitCode = await fn(...args);
    } catch (err) {
      process.stderr.write(`stackd: error: ${messageOf(err)}\n`);
      process.exitCode = err instanceof StackdError ? EXIT_FOR_KIND[err.kind] : 1;
    }
  };
}

export function buildProgram(): Command {
  const program = new Command("stackd")
    .description("GitOps engine for cloud infrastructure on Pulumi")
    .exitOverride()
    .showHelpAfterError();

  program
    .command("reconcile")
    .description("fetch a repository, preview every stack at the branch head and apply the changes")
    .requiredOption("--repo <path|url>", "git repository holding Pulumi projects")
    .option("--branch <name>", "branch to reconcile (default: the repository's default branch)")
    .option("--backend <url>", "Pulumi state backend (default: file:// under the data dir)")
    .option("--data-dir <dir>", "stackd's data directory", defaultDataDir())
    .option("--format <text|json>", "output format", "text")
    .action(action((opts) => reconcileCommand(opts)));

  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    throw err;
  }
}
