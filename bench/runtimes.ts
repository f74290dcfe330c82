// One stack's first run (dependencies and provider plugins not yet cached)
// beside a run with both cached, for each runtime's example program. The first run gets a fresh stackd cache and a fresh
// PULUMI_HOME, with plugins from a loopback mirror; Go's own build and module
// caches stay warm, as they are on any machine that built the program before.
// Run: npm run bench:runtimes
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { reconcile } from "../src/reconciler/index.ts";
import { cacheDir } from "../src/support/index.ts";
import { startEmulator } from "../test/testkit/emulator.ts";
import { startPluginMirror, testPluginTarballs } from "../test/testkit/plugin-mirror.ts";
import { createExamplesRepo } from "../test/testkit/sample-repo.ts";

const emu = await startEmulator();
const mirror = await startPluginMirror(testPluginTarballs());
// The engine stays where setup built it; everything else stackd caches starts empty.
process.env.STACKD_PULUMI_ROOT = fs.realpathSync(path.join(cacheDir(), "engine", "current"));
const tmp = (p: string) => fs.mkdtempSync(path.join(os.tmpdir(), p));
try {
  const rows: string[] = [];
  for (const project of ["typescript", "python", "yaml", "go"]) {
    process.env.STACKD_CACHE = tmp("stackd-bench-cache-");
    const repo = createExamplesRepo([project]);
    const env = { ...emu.env, PULUMI_HOME: tmp("stackd-bench-home-"), PULUMI_PLUGIN_DOWNLOAD_URL_OVERRIDES: `^github://api.github.com/pulumi=${mirror.url}` };
    // Both runs create the stack from scratch (a data dir of their own): what differs is only
    // whether the program's dependencies and plugins are already in the caches.
    const timed = async () => {
      const t0 = Date.now();
      const report = await reconcile({ repo: repo.dir, dataDir: tmp("stackd-bench-data-"), env });
      const s = report.stacks[0]!;
      if (s.status !== "applied") throw new Error(`${project}: ${s.status}: ${s.error}`);
      return (Date.now() - t0) / 1000;
    };
    const first = await timed();
    const cached = await timed();
    rows.push(`${project.padEnd(10)} first run ${first.toFixed(1)} s, cached ${cached.toFixed(1)} s`);
  }
  console.log(rows.join("\n"));
} finally {
  await mirror.stop();
  await emu.stop();
}
