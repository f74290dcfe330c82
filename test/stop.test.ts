// Stopping `stackd serve` the ways it happens in life: SIGTERM while an up
// runs (with room to finish, and without), and kill -9 in the middle of
// applies. Real processes, real engine, real emulator.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openLedgerStore, type Run } from "../src/ledger/index.ts";
import { installRoot } from "../src/support/index.ts";
import { cloud } from "./testkit/aws.ts";
import { freePort, startEmulator, type Emulator } from "./testkit/emulator.ts";
import { membersOf, processesUnder } from "./testkit/processes.ts";
import { servedSampleRepo, waitFor } from "./testkit/service.ts";

let emu: Emulator;
const children: ChildProcess[] = [];

beforeAll(async () => {
  emu = await startEmulator();
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  await emu?.stop();
});

interface Served {
  proc: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

/** `stackd serve` as a person starts it: its own process, signals sent to it alone. */
async function serve(repo: string, dataDir: string, grace: number, node = process.execPath): Promise<Served> {
  const port = await freePort();
  let out = "";
  const proc = spawn(
    node,
    [path.join(installRoot, "bin", "stackd.js"), "serve", "--repo", repo, "--data-dir", dataDir, "--port", String(port), "--poll-interval", "1", "--grace", String(grace)],
    { env: { ...process.env, ...emu.env }, stdio: ["ignore", "pipe", "pipe"] },
  );
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (out += d));
  children.push(proc);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    proc.once("exit", (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  const url = `http://127.0.0.1:${port}`;
  await waitFor("service to listen", async () => (await fetch(`${url}/healthz`).catch(() => undefined))?.ok);
  return { proc, url, output: () => out, exited };
}

function devRuns(dataDir: string): Run[] {
  const ledger = openLedgerStore(dataDir);
  try {
    return ledger.runs.list({ stack: "sample-infra/dev" });
  } finally {
    ledger.close();
  }
}

/** The machine's own node when it is older than stackd needs (Debian's is 20), else this one. */
const OLDER_NODE = ["/usr/bin/node", "/usr/local/bin/node"].find((n) => {
  try {
    return Number(execFileSync(n, ["-p", "process.versions.node.split('.')[0]"], { encoding: "utf8" }).trim()) < 22;
  } catch {
    return false;
  }
}) ?? process.execPath;

const PAUSE = (seconds: number, token: string) => `  sample-infra:pauseSeconds: "${seconds}"\n  sample-infra:pauseToken: "${token}"\n`;

async function servedWithPause(seconds: number) {
  const dev = fs.readFileSync(path.join(installRoot, "stacks", "Pulumi.dev.yaml"), "utf8");
  // prod out of the way: these tests are about the one run in flight.
  const served = await servedSampleRepo({ "stacks/Pulumi.dev.yaml": dev + PAUSE(seconds, "first") });
  served.repo.git("rm", "-q", "stacks/Pulumi.prod.yaml");
  served.repo.git("commit", "-qm", "dev only");
  served.push();
  return served;
}

const applying = (s: Served) => waitFor("dev to be applying", () => s.output().includes('"msg":"sample-infra/dev: applying"'), 180_000);

describe("stopping the service", () => {
  it("SIGTERM during a slow up: the up finishes inside the grace, exit 0, no process left, nothing to recover", async () => {
    const served = await servedWithPause(8);
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "stackd-stop-"));
    try {
      // Started the way a machine with an older node starts it: bin/stackd.js hands over to Node 24.
      const first = await serve(served.url, dataDir, 60, OLDER_NODE);
      await applying(first);
      const signalled = Date.now();
      first.proc.kill("SIGTERM");
      const exit = await first.exited;
      console.log(`SIGTERM to exit with an up in flight (grace 60 s, 8 s pause): ${((exit.at - signalled) / 1000).toFixed(1)} s`);
      expect([exit.code, exit.signal]).toEqual([0, null]);
      expect(devRuns(dataDir)[0]).toMatchObject({ kind: "up", status: "succeeded", error: null });
      expect(processesUnder(dataDir)).toEqual([]);
      const second = await serve(served.url, dataDir, 60);
      await waitFor("the restart to settle", async () => (await (await fetch(`${second.url}/readyz`)).text()) === "ready");
      second.proc.kill("SIGTERM");
      await second.exited;
      expect(second.output()).not.toContain("cleared interrupted operations");
      expect(second.output()).not.toContain("ended processes a previous stackd left running");
      expect(devRuns(dataDir).map((r) => r.status)).toEqual(["succeeded"]);
    } finally {
      await served.daemon.stop();
    }
  });

  it("SIGTERM with a grace shorter than the up: interrupted, lock and pending operations cleared, the restart reconciles", async () => {
    const served = await servedWithPause(120);
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "stackd-stop-"));
    try {
      const first = await serve(served.url, dataDir, 2);
      await applying(first);
      first.proc.kill("SIGTERM");
      const exit = await first.exited;
      expect([exit.code, exit.signal]).toEqual([0, null]);
      const [run] = devRuns(dataDir);
      expect([run!.status, run!.error]).toEqual(["interrupted", "interrupted: the service stopped (stopped during up)"]);
      expect(processesUnder(dataDir)).toEqual([]);
      // The declared state no longer pauses; the restart applies it over the cleared stack.
      served.repo.commit({ "stacks/Pulumi.dev.yaml": served.repo.read("stacks/Pulumi.dev.yaml").replace(PAUSE(120, "first"), "") }, "no pause");
      const fixed = served.push();
      const second = await serve(served.url, dataDir, 60);
      await waitFor("dev to apply the fix", () => devRuns(dataDir).find((r) => r.revision === fixed && r.status === "succeeded"), 180_000);
      expect(await cloud(emu).bucketExists("stackd-sample-dev-data")).toBe(true);
      second.proc.kill("SIGTERM");
      expect((await second.exited).code).toBe(0);
    } finally {
      await served.daemon.stop();
    }
  });

  it("kill -9 five times in the middle of applies: each restart ends what the killed service left running", async () => {
    const served = await servedWithPause(600);
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "stackd-kill-"));
    const orphans: number[] = [];
    try {
      for (let i = 1; i <= 5; i++) {
        const s = await serve(served.url, dataDir, 60);
        if (i > 1) await waitFor("the previous incarnation's processes to end", () => membersOf(orphans).length === 0 || undefined, 60_000);
        expect(membersOf(orphans)).toEqual([]);
        await applying(s);
        const recorded = () => fs.readdirSync(path.join(dataDir, "process-groups")).flatMap((d) => fs.readdirSync(path.join(dataDir, "process-groups", d)).map(Number));
        const groups = await waitFor("the up's engine to run", () => (membersOf(recorded()).length > 0 ? recorded() : undefined));
        orphans.splice(0, orphans.length, ...groups);
        s.proc.kill("SIGKILL");
        await s.exited;
        // Killed without a chance to clean up: its engine outlives it (some of it until the next start ends it).
        expect(membersOf(orphans).length).toBeGreaterThan(0);
      }
      const last = await serve(served.url, dataDir, 600);
      await waitFor("the last incarnation's processes to end", () => membersOf(orphans).length === 0 || undefined, 60_000);
      console.log(`orphans after 5 kill -9 and a restart: ${membersOf(orphans).length}`);
      // A long grace, cut short by a second signal (SIGINT this time): the up is interrupted now.
      await applying(last);
      last.proc.kill("SIGTERM");
      await waitFor("the stop to begin", () => last.output().includes('"msg":"stopping: no new work'));
      last.proc.kill("SIGINT");
      expect((await last.exited).code).toBe(0);
      expect(devRuns(dataDir)[0]).toMatchObject({ status: "interrupted", error: "interrupted: the service stopped (stopped during up)" });
      expect(processesUnder(dataDir)).toEqual([]);
    } finally {
      await served.daemon.stop();
    }
  }, 900_000);
});
