// An up runs as one CLI command, the way the Automation API runs it, minus
// what its up adds: a `stack select` before, and a `stack output` twice and a
// `stack history` after, whose results stackd does not use (1.7 s together
// here on a file backend: 0.3 s to 0.6 s each). And it may preview first in the same engine process
// (the plain `pulumi up --yes`), which the Automation API's up cannot: it
// always passes --skip-preview.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Toolchain } from "./toolchain.ts";

/** One engine command: its arguments after the verb, and where its output goes. */
export interface EngineCommand {
  /** The verb and its flags: `["up", "--yes", "--policy-pack", dir]`. */
  args: string[];
  workDir: string;
  stack: string;
  /** Everything the engine and the program get: backend, passphrase, PULUMI_HOME, cloud. */
  env: Record<string, string>;
  onOutput: (chunk: string) => void;
  onEvent: (event: unknown) => void;
  signal?: AbortSignal;
}

const MISSING_STACK = /no stack named '[^']*' found/;

/** A failed CLI command: its message is what the CLI wrote to stderr. */
export class EngineCommandError extends Error {
  /** The CLI's exit code (-1: it did not start, or was ended by a signal). */
  readonly code: number;
  readonly stderr: string;

  constructor(code: number, stderr: string, cause?: Error) {
    super(stderr.trim() || cause?.message || `the Pulumi CLI exited with code ${code}`, { cause });
    this.name = "EngineCommandError";
    this.code = code;
    this.stderr = stderr;
  }
}

/** Runs the CLI once; SIGINT on abort, which the engine treats as a cancel (it stops cleanly). */
function runCli(tc: Toolchain, args: string[], cmd: EngineCommand, env: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(tc.command.command, [...args, "--non-interactive"], { cwd: cmd.workDir, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    const stderr: string[] = [];
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => cmd.onOutput(chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => stderr.push(chunk));
    const onAbort = () => child.kill("SIGINT");
    if (cmd.signal?.aborted) onAbort();
    cmd.signal?.addEventListener("abort", onAbort, { once: true });
    let failure: Error | undefined;
    child.on("error", (err) => (failure = err));
    child.on("close", (code) => {
      cmd.signal?.removeEventListener("abort", onAbort);
      if (code === 0 && !failure) resolve();
      else reject(new EngineCommandError(code ?? -1, stderr.join(""), failure));
    });
  });
}

/**
 * Runs one engine command with an event log, and hands every event to
 * `onEvent` once the command ends (the log is read whole: nothing is lost
 * in transit). A stack the backend does not have yet is created first, as
 * the Automation API's createOrSelect would. Throws EngineCommandError
 * when the command fails.
 */
export async function runEngineCommand(tc: Toolchain, cmd: EngineCommand): Promise<void> {
  // The prefix is the Automation API's: a log left by a killed process is swept with theirs.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "automation-logs-stackd-"));
  const eventLog = path.join(dir, "events.jsonl");
  const env = { ...cmd.env, PULUMI_DEBUG_COMMANDS: "true", PULUMI_AUTOMATION_API: "true" };
  const args = [...cmd.args, "--stack", cmd.stack, "--color", "never", "--event-log", eventLog];
  try {
    try {
      await runCli(tc, args, cmd, env);
    } catch (err) {
      if (!(err instanceof EngineCommandError) || !MISSING_STACK.test(err.stderr) || cmd.signal?.aborted) throw err;
      await runCli(tc, ["stack", "init", cmd.stack], { ...cmd, onOutput: () => {} }, env);
      fs.rmSync(eventLog, { force: true });
      await runCli(tc, args, cmd, env);
    }
  } finally {
    readEvents(eventLog, cmd.onEvent);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function readEvents(file: string, onEvent: (event: unknown) => void): void {
  let text = "";
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    return; // the command ended before the engine started
  }
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      onEvent(JSON.parse(line));
    } catch {
      // a line cut short by a killed engine: the recorder notices the gap in sequence numbers
    }
  }
}
