// What stackd costs over raw Pulumi: one stack of the sample infrastructure,
// created, updated (one tag) and reconciled with nothing to do, by `stackd
// reconcile` and by raw `pulumi up --yes` (which previews too) with the same
// program, the same policy pack and the same kind of backend (a local file
// backend each), side by side in one process. Prints each time and the ratio.
// Run: npm run bench:reconcile
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadToolchain, engineEnv } from "../src/pulumi/index.ts";
import { reconcile } from "../src/reconciler/index.ts";
import { installRoot } from "../src/support/index.ts";
import { devOnlySampleRepo } from "./lib.ts";
import { startEmulator } from "../test/testkit/emulator.ts";

const emu = await startEmulator();
const timed = async (fn: () => unknown) => {
  const t0 = Date.now();
  await fn();
  return (Date.now() - t0) / 1000;
};
try {
  const repo = devOnlySampleRepo();
  const config = "stacks/Pulumi.dev.yaml";
  const retag = (dir: string, v: string) => {
    const f = path.join(dir, config);
    fs.writeFileSync(f, fs.readFileSync(f, "utf8").replace(/dataClass: .*/, `dataClass: ${v}`));
  };

  // Raw pulumi on a plain copy of the same project, with the same pack (its dependencies installed first, untimed).
  const tc = await loadToolchain();
  const raw = fs.mkdtempSync(path.join(os.tmpdir(), "stackd-raw-"));
  fs.cpSync(repo.dir, raw, { recursive: true, filter: (p) => !p.includes(`${path.sep}.git`) });
  fs.symlinkSync(path.join(installRoot, "node_modules"), path.join(raw, "node_modules"));
  execFileSync("npm", ["ci", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"], { cwd: path.join(raw, "policies"), stdio: "ignore" });
  const env = {
    ...process.env,
    ...engineEnv(tc, { PULUMI_CONFIG_PASSPHRASE: "bench", PULUMI_BACKEND_URL: `file://${raw}/.state` }),
    ...emu.env,
  };
  fs.mkdirSync(path.join(raw, ".state"));
  const pulumi = (...args: string[]) => execFileSync(path.join(tc.binDir, "pulumi"), args, { cwd: raw, env, stdio: "ignore" });
  const rawUp = () => pulumi("up", "--yes", "--policy-pack", path.join(raw, "policies"));
  pulumi("stack", "init", "dev");
  const rawTimes = { create: await timed(rawUp), update: 0, noop: 0 };
  retag(raw, "raw");
  rawTimes.update = await timed(rawUp);
  rawTimes.noop = await timed(rawUp);

  await emu.reset();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "stackd-bench-"));
  const run = () => reconcile({ repo: repo.dir, dataDir, env: emu.env });
  const stackd = { create: await timed(run), update: 0, noop: 0 };
  retag(repo.dir, "stackd");
  repo.git("commit", "-qam", "retag");
  stackd.update = await timed(run);
  stackd.noop = await timed(run);

  for (const [what, label] of [
    ["create", "create 3 resources"],
    ["update", "update one value  "],
    ["noop", "no-op             "],
  ] as const) {
    const ratio = stackd[what] / rawTimes[what];
    console.log(`${label}: stackd reconcile ${stackd[what].toFixed(1)} s, raw pulumi up --yes --policy-pack ${rawTimes[what].toFixed(1)} s, ratio ${ratio.toFixed(2)}`);
  }
} finally {
  await emu.stop();
}
