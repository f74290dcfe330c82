// Drift sweep wall time: every stack checked at once through the service's
// queue (parallelism 2), for 1 and for 10 stacks of the sample infrastructure.
// Run: npm run bench:drift
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startEmulator } from "../test/testkit/emulator.ts";
import { servedSampleRepo, settled, startService, waitFor } from "../test/testkit/service.ts";

const COUNTS = [1, 10];
const emu = await startEmulator();
try {
  for (const n of COUNTS) {
    await emu.reset();
    const stacks: Record<string, string> = { "stackd.yaml": 'stacks:\n  "*":\n    drift: "off"\n' };
    const config = fs.readFileSync(new URL("../stacks/Pulumi.dev.yaml", import.meta.url), "utf8");
    for (let i = 1; i <= n; i++) stacks[`stacks/Pulumi.s${String(i).padStart(2, "0")}.yaml`] = config;
    const served = await servedSampleRepo(stacks);
    served.repo.git("rm", "-q", "stacks/Pulumi.dev.yaml", "stacks/Pulumi.prod.yaml");
    served.repo.git("commit", "-qm", "only the benchmark's stacks");
    served.push();
    const svc = await startService({ repo: served.url, dataDir: fs.mkdtempSync(path.join(os.tmpdir(), "stackd-bench-")), env: emu.env });
    await waitFor("initial applies", () => svc.runs().filter((r) => r.status === "succeeded").length === n, 1_800_000);
    await settled(svc);
    const t0 = Date.now();
    const runs = await Promise.all(svc.controller.status().map((s) => svc.controller.checkDrift(s.name, "api")));
    await waitFor("the sweep", () => runs.every((r) => svc.controller.ledger.runs.get(r.id)?.status === "succeeded"), 1_800_000);
    const seconds = (Date.now() - t0) / 1000;
    console.log(`drift sweep of ${n} stack(s) at parallelism 2: ${seconds.toFixed(1)} s`);
    await svc.stop();
    await served.daemon.stop();
  }
} finally {
  await emu.stop();
}
