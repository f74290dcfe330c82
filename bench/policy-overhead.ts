// How much the policy pack adds to a preview's wall time: the same stack
// previewed with the sample pack and with packs turned off (policyPacks: []).
// Run: npm run bench:policy
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { reconcile } from "../src/reconciler/index.ts";
import { startEmulator } from "../test/testkit/emulator.ts";
import { summarize, devOnlySampleRepo } from "./lib.ts";

const SAMPLES = Number(process.env.SAMPLES ?? 5);
const emu = await startEmulator();
try {
  const repo = devOnlySampleRepo();
  const withPacks = repo.head();
  const withoutPacks = repo.commit({ "stackd.yaml": "policyPacks: []\n" }, "no packs");
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "stackd-bench-"));
  const preview = async (ref: string) => {
    const t0 = Date.now();
    const report = await reconcile({ repo: repo.dir, ref, dataDir, env: emu.env, mode: "preview" });
    if (report.stacks[0]?.status !== "previewed") throw new Error(`unexpected: ${JSON.stringify(report.stacks[0])}`);
    return Date.now() - t0;
  };
  await preview(withPacks); // installs and caches the pack's dependencies
  const on: number[] = [];
  const off: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    on.push(await preview(withPacks));
    off.push(await preview(withoutPacks));
  }
  console.log(summarize("preview with the sample policy pack", on));
  console.log(summarize("preview without policy packs", off));
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`the pack adds ${median(on) - median(off)} ms to the median preview`);
} finally {
  await emu.stop();
}
