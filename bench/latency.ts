// Commit -> run start latency of `stackd serve`, by webhook and by poll.
// Run: npm run bench:latency
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startEmulator } from "../test/testkit/emulator.ts";
import { servedSampleRepo, settled, startService, waitFor, type TestService } from "../test/testkit/service.ts";
import { summarize } from "./lib.ts";

const SAMPLES = Number(process.env.SAMPLES ?? 5);
const POLL_MS = Number(process.env.POLL_MS ?? 5000);

const emu = await startEmulator();
const served = await servedSampleRepo();
served.push();
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "stackd-bench-"));

function commit(i: string): string {
  const file = "stacks/Pulumi.dev.yaml";
  served.repo.commit({ [file]: served.repo.read(file).replace(/dataClass: .*/, `dataClass: ${i}`) }, `bench ${i}`);
  return served.push();
}

async function measure(svc: TestService, label: string, announce: (rev: string) => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const revision = commit(`${label}-${i}`);
    const t0 = Date.now();
    await announce(revision);
    const run = await waitFor("run start", () => {
      const r = svc.runs("sample-infra/dev").find((x) => x.revision === revision && x.startedAt);
      return r?.startedAt ? r : undefined;
    });
    out.push(Date.parse(run.startedAt!) - t0);
    await settled(svc);
  }
  return out;
}

try {
  let svc = await startService({ repo: served.url, dataDir, env: emu.env });
  await waitFor("initial apply", () => svc.runs().length >= 2);
  await settled(svc);
  const webhook = await measure(svc, "webhook", (rev) => svc.pushWebhook(rev));
  await svc.stop();
  svc = await startService({ repo: served.url, dataDir, env: emu.env, pollIntervalMs: POLL_MS });
  await settled(svc);
  const poll = await measure(svc, "poll", async () => {});
  await svc.stop();
  console.log(summarize("commit -> run start, webhook", webhook));
  console.log(summarize(`commit -> run start, poll every ${POLL_MS / 1000}s`, poll));
} finally {
  await served.daemon.stop();
  await emu.stop();
}
