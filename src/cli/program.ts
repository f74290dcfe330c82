import { Command, CommanderError } from "commander";
import { StackdError, defaultDataDir, mask, messageOf } from "../support/index.ts";

// Each command's module (and the engine, server and ledger it pulls in) is
// loaded only when that command runs: `stackd --help` loads none of them.
const revisionCommands = () => import("./revision-commands.ts");
const ledgerCommands = () => import("./ledger-commands.ts");
const pluginCommands = () => import("./plugins.ts");

/** Exit 2: the command or its input needs fixing; exit 1: the work failed. */
const EXIT_FOR_KIND = { usage: 2, config: 2, "not-found": 2, conflict: 1, auth: 1, forbidden: 1, throttled: 1, runtime: 1 } as const;

/** Runs a command action and turns its outcome into the process exit code. */
function action<A extends unknown[]>(fn: (...args: A) => Promise<number>) {
  return async (...args: A) => {
    try {
      process.exitCode = await fn(...args);
    } catch (err) {
      process.stderr.write(mask(`stackd: error: ${messageOf(err)}\n`));
      process.exitCode = err instanceof StackdError ? EXIT_FOR_KIND[err.kind] : 1;
    }
  };
}

/** The commander program: every stackd command. */
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
    .action(action(async (opts) => (await revisionCommands()).reconcileCommand(opts)));

  program
    .command("policy")
    .description("policy packs")
    .command("check")
    .description("preview every stack with the policy packs; applies nothing (exit 0 clean, 2 mandatory violations, 1 error)")
    .requiredOption("--repo <path|url>", "git repository holding Pulumi projects")
    .option("--ref <ref>", "branch, tag or commit to check (default: the default branch's head)")
    .option("--backend <url>", "Pulumi state backend (default: file:// under the data dir)")
    .option("--data-dir <dir>", "stackd's data directory", defaultDataDir())
    .option("--format <text|json>", "output format", "text")
    .action(action(async (opts) => (await revisionCommands()).policyCheckCommand(opts)));

  program
    .command("preview")
    .description("preview what a change (branch, PR ref, sha) would do to the stacks it affects; applies nothing (exit 0 none, 2 changes, 1 error)")
    .requiredOption("--repo <path|url>", "git repository holding Pulumi projects")
    .requiredOption("--ref <head>", "the change's head: branch, refs/pull/N/head or sha")
    .option("--base <branch>", "the branch it would merge into (default: the default branch)")
    .option("--backend <url>", "Pulumi state backend (default: file:// under the data dir)")
    .option("--data-dir <dir>", "stackd's data directory", defaultDataDir())
    .option("--format <md|json>", "output format", "md")
    .option("--out <file>", "write the report to a file instead of stdout")
    .action(action(async (opts) => (await import("./preview.ts")).previewCommand(opts)));

  program
    .command("drift")
    .description("check stacks for drift between their state and the cloud; changes nothing (exit 0 none, 2 drift, 1 error)")
    .requiredOption("--repo <path|url>", "git repository holding Pulumi projects")
    .option("--branch <name>", "branch whose stacks to check (default: the repository's default branch)")
    .option("--stack <name...>", "only these stacks (project/stack or stack)")
    .option("--backend <url>", "Pulumi state backend (default: file:// under the data dir)")
    .option("--data-dir <dir>", "stackd's data directory", defaultDataDir())
    .option("--format <text|json>", "output format", "text")
    .action(action(async (opts) => (await revisionCommands()).driftCommand(opts)));

  program
    .command("doctor")
    .description("check the engine, stackd's cloud identity and that every role in stackd.yaml can be assumed (exit 0 ok, 1 not); warns about an exposed service")
    .option("--repo <path|url>", "repository whose stackd.yaml names the roles", ".")
    .option("--branch <name>", "branch (default: the repository's default branch)")
    .option("--config <file>", "a stackd.yaml to use instead of the one in the repository")
    .option("--data-dir <dir>", "stackd's data directory", defaultDataDir())
    .option("--format <text|json>", "output format", "text")
    .option("--host <addr>", "the address serve would listen on (warns beyond loopback without TLS)", "127.0.0.1")
    .option("--tls-cert <file>", "the certificate serve would use")
    .option("--tokens <file>", "the tokens file serve would use (warns when others can read it)")
    .action(action(async (opts) => (await import("./doctor.ts")).doctorCommand(opts)));

  const plugins = program
    .command("plugins")
    .description("the shared provider plugin cache ($PULUMI_HOME/plugins, else one in stackd's cache)")
    .option("--format <text|json>", "output format", "text")
    .action(action(async (opts) => (await pluginCommands()).pluginsCommand(opts)));
  plugins
    .command("install")
    .description("install every plugin tarball in a directory into the cache (for hosts without internet)")
    .requiredOption("--dir <path>", "directory of pulumi-<kind>-<name>-v<version>-<os>-<arch>.tar.gz files")
    .option("--format <text|json>", "output format", "text")
    .action(action(async (opts) => (await pluginCommands()).pluginsInstallCommand(opts)));

  program
    .command("serve")
    .description("watch a repository and keep its stacks reconciled; serves the API, webhooks and metrics")
    .option("--repo <path|url>", "repository to watch (default: $STACKD_REPO, the --config file's repo, or .)")
    .option("--branch <name>", "branch to watch (default: stackd.yaml's branch, else the default branch)")
    .option("--port <port>", "HTTP port", "8080")
    .option("--host <addr>", "HTTP listen address", "127.0.0.1")
    .option("--config <file>", "a stackd.yaml to use instead of the one in the repository")
    .option("--backend <url>", "Pulumi state backend (default: file:// under the data dir)")
    .option("--poll-interval <seconds>", "seconds between polls (default: stackd.yaml's pollInterval, 30)")
    .option("--parallelism <n>", "runs at once across stacks (default: stackd.yaml's parallelism, 2)")
    .option("--grace <seconds>", "on SIGTERM, how long running operations may finish before they are cancelled", "30")
    .option("--data-dir <dir>", "stackd's data directory", defaultDataDir())
    .option("--database <url>", "PostgreSQL URL of the ledger and the shared work queue: replicas (default: $STACKD_DATABASE_URL; none: the data dir's SQLite file)")
    .option("--replica-name <name>", "this replica's name in GET /api/replicas and the logs (default: $STACKD_REPLICA_NAME, else host-pid)")
    .option("--lease <seconds>", "with --database: a replica silent this long is taken for dead and its runs are run again elsewhere (least 10)", "60")
    .option("--tokens <file>", "API tokens file (default: $STACKD_TOKENS, else <data dir>/tokens.yaml when it exists)")
    .option("--metrics-public", "serve /metrics without a token")
    .option("--auth-failure-limit <n>", "failed authentications per address and minute before it gets 429", "20")
    .option("--tls-cert <file>", "serve HTTPS with this certificate (PEM)")
    .option("--tls-key <file>", "the certificate's private key (PEM)")
    .option("--ssh-key <file>", "SSH deploy key for ssh:// and user@host:path repositories (default: $STACKD_SSH_KEY)")
    .option("--known-hosts <file>", "known_hosts the repository's SSH host key is checked against (default: $STACKD_KNOWN_HOSTS, else ~/.ssh/known_hosts)")
    .option("--git-token-file <file>", "file holding an HTTPS token for the repository (default: $STACKD_GIT_TOKEN_FILE; or $STACKD_GIT_TOKEN)")
    .action(action(async (opts) => (await import("./serve.ts")).serveCommand(opts)));

  program
    .command("token")
    .description("API tokens")
    .command("create")
    .description("add a token with a role to the tokens file and print it (shown once; the file keeps only its sha256)")
    .argument("<name>", "who or what the token is for (recorded on the runs and approvals it makes)")
    .requiredOption("--role <read|operate|admin>", "read: status, runs, logs; operate: + reconcile, drift check, cancel; admin: + approve, rollback, unpin, gc")
    .option("--tokens <file>", "tokens file (default: $STACKD_TOKENS, else <data dir>/tokens.yaml)")
    .option("--data-dir <dir>", "stackd's data directory", defaultDataDir())
    .action(action(async (name, opts) => (await import("./token.ts")).tokenCreateCommand(name, opts)));

  program
    .command("status")
    .description("every stack's sync state, conditions and last run")
    .option("--data-dir <dir>", "stackd's data directory", defaultDataDir())
    .option("--database <url>", "PostgreSQL URL of the ledger (default: $STACKD_DATABASE_URL; none: the data dir's SQLite file)")
    .option("--api <url>", "ask a running service instead of reading the data dir")
    .option("--format <text|json>", "output format", "text")
    .action(action(async (opts) => (await ledgerCommands()).statusCommand(opts)));

  program
    .command("runs")
    .description("recent runs, newest first")
    .option("--stack <name>", "only this stack (project/stack)")
    .option("--limit <n>", "how many", "20")
    .option("--data-dir <dir>", "stackd's data directory", defaultDataDir())
    .option("--database <url>", "PostgreSQL URL of the ledger (default: $STACKD_DATABASE_URL; none: the data dir's SQLite file)")
    .option("--api <url>", "ask a running service instead of reading the data dir")
    .option("--format <text|json>", "output format", "text")
    .action(action(async (opts) => (await ledgerCommands()).runsCommand(opts)));

  program
    .command("approve")
    .description("apply the plan a manual stack's preview run showed")
    .argument("<run-id>", "the preview run awaiting approval")
    .option("--data-dir <dir>", "stackd's data directory", defaultDataDir())
    .option("--api <url>", "the service's URL (default: the one recorded in the data dir)")
    .action(action(async (runId, opts) => (await ledgerCommands()).approveCommand(runId, opts)));

  program
    .command("reject")
    .description("refuse the plan a manual stack's preview run showed: it is never applied")
    .argument("<run-id>", "the preview run awaiting approval")
    .option("--data-dir <dir>", "stackd's data directory", defaultDataDir())
    .option("--api <url>", "the service's URL (default: the one recorded in the data dir)")
    .action(action(async (runId, opts) => (await ledgerCommands()).rejectCommand(runId, opts)));

  program
    .command("rollback")
    .description("apply a stack at an earlier revision it was applied at, and pin it there so following the branch does not undo it")
    .argument("<stack>", "the stack (project/stack)")
    .requiredOption("--to <revision>", "the applied revision to go back to (a commit sha, at least 4 digits)")
    .option("--data-dir <dir>", "stackd's data directory", defaultDataDir())
    .option("--api <url>", "the service's URL (default: the one recorded in the data dir)")
    .action(action(async (stack, opts) => (await ledgerCommands()).rollbackCommand(stack, opts)));

  program
    .command("unpin")
    .description("end a rollback's pin: the stack follows the branch again and is reconciled at its head")
    .argument("<stack>", "the stack (project/stack)")
    .option("--data-dir <dir>", "stackd's data directory", defaultDataDir())
    .option("--api <url>", "the service's URL (default: the one recorded in the data dir)")
    .action(action(async (stack, opts) => (await ledgerCommands()).unpinCommand(stack, opts)));

  program
    .command("migrate")
    .description("bring the ledger's schema up to this stackd's, then exit (serve does it on start, once across replicas)")
    .option("--data-dir <dir>", "stackd's data directory", defaultDataDir())
    .option("--database <url>", "PostgreSQL URL of the ledger (default: $STACKD_DATABASE_URL; none: the data dir's SQLite file)")
    .action(action(async (opts) => (await import("./ledger-transfer.ts")).migrateCommand(opts)));

  const ledger = program.command("ledger").description("the ledger as JSON lines: back it up, or move it to another data dir");
  ledger
    .command("export")
    .description("write every row of the ledger to stdout as JSON lines")
    .option("--data-dir <dir>", "stackd's data directory", defaultDataDir())
    .option("--database <url>", "PostgreSQL URL of the ledger (default: $STACKD_DATABASE_URL; none: the data dir's SQLite file)")
    .action(action(async (opts) => (await import("./ledger-transfer.ts")).exportCommand(opts)));
  ledger
    .command("import")
    .description("fill a new data dir's ledger from an export (stdin, or --file), all or nothing")
    .option("--data-dir <dir>", "stackd's data directory", defaultDataDir())
    .option("--database <url>", "PostgreSQL URL of the ledger (default: $STACKD_DATABASE_URL; none: the data dir's SQLite file)")
    .option("--file <file>", "read the export from this file instead of stdin")
    .action(action(async (opts) => (await import("./ledger-transfer.ts")).importCommand(opts)));

  program
    .command("gc")
    .description("remove what nothing needs: old worktrees, ledger rows past retention, stale engine temp dirs; prints what it freed")
    .option("--data-dir <dir>", "stackd's data directory", defaultDataDir())
    .option("--repo <path|url>", "the repository the data dir follows (when no service runs)", ".")
    .option("--api <url>", "ask a running service (default: the one recorded in the data dir)")
    .option("--format <text|json>", "output format", "text")
    .action(action(async (opts) => (await import("./gc.ts")).gcCommand(opts)));

  program
    .command("graph")
    .description("the stack graph: what each stack depends on (declared in stackd.yaml or read through StackReference), its order, the last cascade; exit 1 on a cycle")
    .option("--data-dir <dir>", "stackd's data directory", defaultDataDir())
    .option("--api <url>", "the service's URL (default: the one recorded in the data dir)")
    .option("--format <text|dot|json>", "output format", "text")
    .action(action(async (opts) => (await import("./graph.ts")).graphCommand(opts)));

  program
    .command("cancel")
    .description("stop a queued or running run (the engine is interrupted, its lock cleared)")
    .argument("<run-id>", "the run to stop")
    .option("--data-dir <dir>", "stackd's data directory", defaultDataDir())
    .option("--api <url>", "the service's URL (default: the one recorded in the data dir)")
    .action(action(async (runId, opts) => (await ledgerCommands()).cancelCommand(runId, opts)));

  return program;
}

/** Runs the CLI with process arguments; usage errors exit 2. */
export async function main(argv: string[]): Promise<void> {
  // What stackd writes (ledger, state, tokens, checkouts) is its owner's alone.
  process.umask(0o077);
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
