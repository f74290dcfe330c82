import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { installRoot } from "../src/support/index.ts";
import type { Run } from "../src/ledger/index.ts";
import { freePort, startEmulator, type Emulator } from "./testkit/emulator.ts";
import { cloud } from "./testkit/aws.ts";
import { servedSampleRepo, waitFor } from "./testkit/service.ts";

let emu: Emulator;
let served: Awaited<ReturnType<typeof servedSampleRepo>>;
let dataDir: string;
const children: ChildProcess[] = [];

/** `stackd serve` as its own process group, so kill -9 takes the engine down with it, as a crash would. */
async function serve(): Promise<{ proc: ChildProcess; url: string; output: () => string }> {
  const port = await freePort();
  let out = "";
  const proc = spawn(
    process.execPath,
    [path.join(installRoot, "bin", "stackd.js"), "serve", "--repo", served.url, "--data-dir", dataDir, "--port", String(port), "--poll-interval", "1"],
    { env: { ...process.env, ...emu.env }, detached: true, stdio: ["ignore", "pipe", "pipe"] },
  );
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (out += d));
  children.push(proc);
  const url = `http://127.0.0.1:${port}`;
  await waitFor("service to listen", async () => (await fetch(`${url}/healthz`).catch(() => undefined))?.ok);
  return { proc, url, output: () => out };
}

/** The runs, asked with the admin token serve generated in its data dir. */
const runs = async (url: string) => {
  const token = fs.readFileSync(path.join(dataDir, "admin-token"), "utf8").trim();
  return ((await (await fetch(`${url}/api/runs?limit=100`, { headers: { authorization: `Bearer ${token}` } })).json()) as { runs: Run[] }).runs;
};

beforeAll(async () => {
  emu = await startEmulator();
  served = await servedSampleRepo();
  served.push();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "stackd-crash-"));
});

afterAll(async () => {
  for (const c of children) {
    if (c.exitCode !== null || c.signalCode !== null || !c.pid) continue;
    try {
      process.kill(-c.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  await served?.daemon.stop();
  await emu?.stop();
});

describe("crash recovery", () => {
  it("kill -9 in the middle of an up, then restart: the run is interrupted and the stack reconciles cleanly", async () => {
    const first = await serve();
    await waitFor("an up to start applying", () => /"msg":"sample-infra\/dev: applying"/.test(first.output()), 120_000);
    process.kill(-first.proc.pid!, "SIGKILL");
    await new Promise((r) => first.proc.once("exit", r));

    const second = await serve();
    await waitFor(
      "both stacks to succeed after the restart",
      async () => {
        const latest = new Map<string, Run>();
        for (const r of (await runs(second.url)).reverse()) latest.set(r.stack, r);
        return latest.size === 2 && [...latest.values()].every((r) => r.status === "succeeded");
      },
      180_000,
    );
    const all = await runs(second.url);
    const interrupted = all.filter((r) => r.status === "interrupted");
    expect(interrupted.map((r) => r.stack)).toContain("sample-infra/dev");
    expect(interrupted.map((r) => r.error)).toEqual(interrupted.map(() => "interrupted: the service stopped while this run was in progress"));
    expect(second.output()).toMatch(/"stack":"sample-infra\/dev".*"msg":"cleared interrupted operations"/);
    const aws = cloud(emu);
    expect(await aws.bucketTags("stackd-sample-dev-data")).toMatchObject({ stack: "dev", dataClass: "internal" });
    expect(await aws.parameter("/stackd-sample/dev/queue-url")).toMatch(/stackd-sample-dev-jobs$/);

    // A clean stop: SIGTERM exits 0 and leaves nothing running.
    const exited = new Promise<number | null>((r) => second.proc.once("exit", (code) => r(code)));
    process.kill(second.proc.pid!, "SIGTERM");
    expect(await exited).toBe(0);
    expect(second.output()).toContain('"msg":"stopped"');
  });
});
