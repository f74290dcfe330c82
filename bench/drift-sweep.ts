// Drift sweep against the queue's ideal: N stacks of the sample infrastructure
// (default 20) checked all at once through the service at parallelism 2, then
// each stack checked alone, one after another. Alone, nothing else competes
// for the machine, so the singles' sum / 2 is what a perfect parallelism-2
// sweep would take; the ratio says how far the sweep is from it.
// Run: npm run bench:drift    (STACKS=3 node bench/drift-sweep.ts for a quick trial)
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Run } from "../src/ledger/index.ts";
import { startEmulator } from "../test/testkit/emulator.ts";
import { servedSampleRepo, settled, startService, waitFor, type TestService } from "../test/testkit/service.ts";

const N = Number(process.env.STACKS ?? 20);
// sum / PARALLELISM is the ideal only when the checks split evenly: with a small odd N the
// last check runs alone, and the ratio overstates the gap.
const PARALLELISM = 2;

/**
 * Waits until every run has finished; returns when the last one finished, by the ledger's clock,
 * so a check of a second or two is not lengthened by waitFor's polling. A run that did not
 * succeed would make the figures meaningless.
 */
async function finished(svc: TestService, runs: Run[], what: string): Promise<number> {
  const now = () => runs.map((r) => svc.ledger.runs.get(r.id)!);
  await waitFor(what, () => now().every((r) => r.status !== "queued" && r.status !== "running"), 1_800_000);
  const bad = now().find((r) => r.status !== "succeeded");
  if (bad) throw new Error(`${what}: run ${bad.id} of ${bad.stack} ended ${bad.status}: ${bad.error ?? ""}`);
  return Math.max(...now().map((r) => Date.parse(r.finishedAt!)));
}

const emu = await startEmulator();
try {
  // drift "off": the service's own schedule would start checks of its own and disturb the timings.
  const stacks: Record<string, string> = { "stackd.yaml": 'stacks:\n  "*":\n    drift: "off"\n' };
  const config = fs.readFileSync(new URL("../stacks/Pulumi.dev.yaml", import.meta.url), "utf8");
  for (let i = 1; i <= N; i++) stacks[`stacks/Pulumi.s${String(i).padStart(2, "0")}.yaml`] = config;
  const served = await servedSampleRepo(stacks);
  served.repo.git("rm", "-q", "stacks/Pulumi.dev.yaml", "stacks/Pulumi.prod.yaml");
  served.repo.git("commit", "-qm", "only the benchmark's stacks");
  served.push();
  const svc = await startService({ repo: served.url, dataDir: fs.mkdtempSync(path.join(os.tmpdir(), "stackd-bench-")), env: emu.env });
  try {
    await waitFor("initial applies", () => svc.runs().filter((r) => r.status === "succeeded").length === N, 1_800_000);
    await settled(svc);
    const names = (await svc.controller.status()).map((s) => s.name);

    let t0 = Date.now();
    const sweep = await Promise.all(names.map((name) => svc.controller.checkDrift(name, "api")));
    const sweepSeconds = ((await finished(svc, sweep, "the sweep")) - t0) / 1000;

    let singlesSeconds = 0;
    for (const name of names) {
      t0 = Date.now();
      const end = await finished(svc, [await svc.controller.checkDrift(name, "api")], `the single check of ${name}`);
      singlesSeconds += (end - t0) / 1000;
    }

    const ideal = singlesSeconds / PARALLELISM;
    console.log(
      `drift sweep of ${N} stacks at parallelism ${PARALLELISM}: ${sweepSeconds.toFixed(1)} s; ` +
        `${N} single checks: ${singlesSeconds.toFixed(1)} s in all, ideal ${ideal.toFixed(1)} s; ratio ${(sweepSeconds / ideal).toFixed(2)}`,
    );
  } finally {
    await svc.stop();
    await served.daemon.stop();
  }
} finally {
  await emu.stop();
}
