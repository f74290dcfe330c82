// Wall time of one `stackd reconcile` of a stack beside raw `pulumi up --yes`
// (which previews too) on the same stack and emulator, for the first create
// and for a one-tag update. Run: npm run bench:reconcile
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
const seconds = (t0: number) => ((Date.now() - t0) / 1000).toFixed(1);
try {
  const repo = devOnlySampleRepo();
  const retag = (v: string) => {
    const f = "stacks/Pulumi.dev.yaml";
    return repo.commit({ [f]: repo.read(f).replace(/dataClass: .*/, `dataClass: ${v}`) }, v);
  };

  // Raw pulumi on a plain copy of the same project.
  const tc = await loadToolchain();
  const raw = fs.mkdtempSync(path.join(os.tmpdir(), "stackd-raw-"));
  fs.cpSync(repo.dir, raw, { recursive: true, filter: (p) => !p.includes(`${path.sep}.git`) });
  fs.symlinkSync(path.join(installRoot, "node_modules"), path.join(raw, "node_modules"));
  const env = {
    ...process.env,
    ...engineEnv(tc, { PULUMI_CONFIG_PASSPHRASE: "bench", PULUMI_HOME: path.join(raw, ".home"), PULUMI_BACKEND_URL: `file://${raw}/.state` }),
    ...emu.env,
  };
  fs.mkdirSync(path.join(raw, ".state"));
  const pulumi = (...args: string[]) => execFileSync(path.join(tc.binDir, "pulumi"), args, { cwd: raw, env, stdio: "ignore" });
  pulumi("stack", "init", "dev");
  let t0 = Date.now();
  pulumi("up", "--yes");
  const rawCreate = seconds(t0);
  fs.writeFileSync(path.join(raw, "stacks/Pulumi.dev.yaml"), fs.readFileSync(path.join(raw, "stacks/Pulumi.dev.yaml"), "utf8").replace(/dataClass: .*/, "dataClass: raw"));
  t0 = Date.now();
  pulumi("up", "--yes");
  const rawUpdate = seconds(t0);

  await emu.reset();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "stackd-bench-"));
  t0 = Date.now();
  await reconcile({ repo: repo.dir, dataDir, env: emu.env });
  const createTime = seconds(t0);
  retag("stackd");
  t0 = Date.now();
  await reconcile({ repo: repo.dir, dataDir, env: emu.env });
  const updateTime = seconds(t0);

  console.log(`create 3 resources: stackd reconcile ${createTime} s, raw pulumi up --yes ${rawCreate} s`);
  console.log(`update one tag:     stackd reconcile ${updateTime} s, raw pulumi up --yes ${rawUpdate} s`);
} finally {
  await emu.stop();
}
