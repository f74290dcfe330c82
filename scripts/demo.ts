// `npm run demo`: the AWS emulator, a git repository made from the sample
// infrastructure, and `stackd serve` keeping it reconciled: the first apply of
// every stack, then a commit announced by a signed webhook that changes one tag.
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { installRoot } from "../src/support/index.ts";
import { githubSignature } from "../src/server/index.ts";
import { freePort, startEmulator } from "../test/testkit/emulator.ts";
import { createSampleRepo } from "../test/testkit/sample-repo.ts";
import { cloud } from "../test/testkit/aws.ts";

const say = (line: string) => process.stdout.write(`${line}\n`);
const stackdBin = path.join(installRoot, "bin", "stackd.js");

interface StacksBody {
  head: string | null;
  stacks: { name: string; sync: string; appliedRevision: string | null; conditions: string[] }[];
}

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 300_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`demo: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const emu = await startEmulator();
const work = fs.mkdtempSync(path.join(os.tmpdir(), "stackd-demo-"));
const dataDir = path.join(work, "data");
const secret = `demo-${Math.random().toString(36).slice(2)}`;
// The API's admin token for this demo (the CLI beside the service sends it too).
const apiToken = `stackd_demo-${Math.random().toString(36).slice(2)}`;
const port = await freePort();
const url = `http://127.0.0.1:${port}`;
const env = { ...process.env, ...emu.env, STACKD_WEBHOOK_SECRET: secret, STACKD_API_TOKEN: apiToken };
const cli = (...args: string[]) => execFileSync(process.execPath, [stackdBin, ...args, "--data-dir", dataDir], { env, encoding: "utf8" });
const repo = createSampleRepo(work);
say(`AWS emulator:      ${emu.endpoint}`);
say(`sample repository: ${repo.dir}`);
say(`data dir:          ${dataDir}`);
say(`service log:       ${path.join(work, "serve.log")}\n`);

const log = fs.openSync(path.join(work, "serve.log"), "w");
const service = spawn(process.execPath, [stackdBin, "serve", "--repo", repo.dir, "--port", String(port), "--poll-interval", "5", "--data-dir", dataDir], {
  env,
  stdio: ["ignore", log, log],
});
try {
  const synced = (revision: string) => async () => {
    const body = (await (await fetch(`${url}/api/stacks`, { headers: { authorization: `Bearer ${apiToken}` } })).json()) as StacksBody;
    return body.head === revision && body.stacks.length > 0 && body.stacks.every((s) => s.appliedRevision === revision) ? body : undefined;
  };
  say(`== stackd serve on ${url}: first apply of every stack`);
  let started = Date.now();
  await until("the first apply", synced(repo.head()));
  say(`(${((Date.now() - started) / 1000).toFixed(1)} s)\n$ stackd status\n${cli("status")}`);

  const dev = repo.read("stacks/Pulumi.dev.yaml");
  const revision = repo.commit({ "stacks/Pulumi.dev.yaml": dev.replace("dataClass: internal", "dataClass: confidential") }, "classify dev data");
  say(`== committed ${revision.slice(0, 12)}: dev bucket tag dataClass "internal" -> "confidential"; sending a signed push webhook`);
  const body = JSON.stringify({ ref: "refs/heads/main", after: revision });
  started = Date.now();
  const res = await fetch(`${url}/webhooks/github`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-github-event": "push", "x-hub-signature-256": githubSignature(secret, body) },
    body,
  });
  say(`POST /webhooks/github -> ${res.status}`);
  await until("the webhook's run", synced(revision));
  say(`(${((Date.now() - started) / 1000).toFixed(1)} s)\n$ stackd runs\n${cli("runs")}`);
  say(`dev bucket tags in the emulator: ${JSON.stringify(await cloud(emu).bucketTags("stackd-sample-dev-data"))}`);
} finally {
  service.kill("SIGTERM");
  await new Promise((r) => service.once("exit", r));
  await emu.stop();
}
