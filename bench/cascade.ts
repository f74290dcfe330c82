// A three-layer cascade: network -> cluster -> app, wired by StackReference, each running the
// sample program. After a first pass (where stackd learns the edges), one commit changes only
// network's endpoint; its outputs change, so cluster and then app run again in the same pass.
// Prints the cascade's time beside the sum of its runs' own times, and each run.
// Run: npm run bench:cascade
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { GraphView } from "../src/graph/index.ts";
import { startEmulator } from "../test/testkit/emulator.ts";
import { baseLayerConfig, layerFiles } from "../test/testkit/layers.ts";
import { servedSampleRepo, settled, startService, waitFor } from "../test/testkit/service.ts";

const chain = ["network", "cluster", "app"];
const emu = await startEmulator();
const served = await servedSampleRepo({ ...layerFiles(chain, "vpc-1"), "stackd.yaml": 'stacks:\n  "*":\n    drift: "off"\n' });
served.repo.git("rm", "-q", "stacks/Pulumi.dev.yaml", "stacks/Pulumi.prod.yaml");
served.repo.git("commit", "-q", "-m", "layers only");
served.push();
const svc = await startService({ repo: served.url, dataDir: fs.mkdtempSync(path.join(os.tmpdir(), "stackd-bench-cascade-")), env: emu.env });
try {
  const t0 = Date.now();
  await waitFor("the first pass", () => chain.every((l) => svc.runs(`${l}/dev`).some((r) => r.status === "succeeded")), 900_000);
  await settled(svc, 900_000);
  console.log(`first pass (edges unknown, learned on the way): ${((Date.now() - t0) / 1000).toFixed(1)} s, ${svc.runs().length} runs: ${svc.runs().map((r) => `${r.stack} ${r.trigger} ${r.status}`).reverse().join("; ")}`);
  served.repo.commit({ "network/Pulumi.dev.yaml": baseLayerConfig("network", "vpc-2") }, "network: endpoint vpc-2");
  const head = served.push();
  await svc.pushWebhook(head);
  await waitFor("the cascade", () => svc.runs("app/dev")[0]?.trigger === "cascade" && svc.runs("app/dev")[0]!.finishedAt !== null, 900_000);
  await settled(svc, 900_000);
  const view = (await (await svc.api("/api/graph")).json()) as GraphView;
  const c = view.lastCascade!;
  console.log(`edges: ${view.edges.map((e) => `${e.stack} -> ${e.dependsOn} (${e.origins.join("+")})`).join(", ")}`);
  console.log(`3-layer cascade: ${c.seconds?.toFixed(1)} s from network's start to app's end; the runs alone add up to ${c.sumOfRuns.toFixed(1)} s`);
  for (const r of c.runs) console.log(`  ${r.stack.padEnd(12)} ${r.status.padEnd(10)} ${r.seconds?.toFixed(1)} s (started ${r.startedAt})`);
} finally {
  await svc.stop();
  await served.daemon.stop();
  await emu.stop();
}
