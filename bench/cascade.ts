// A three-layer cascade on the real engine and emulator: network/dev exports an endpoint,
// cluster/dev reads it through a StackReference and exports it on, app/dev reads cluster's.
// Each round commits a new endpoint to network alone; stackd re-applies cluster, then app,
// because their upstream's outputs changed. Printed per round: the cascade's wall time (first
// start to last end, from GET /api/graph) against the sum of its runs' own times, and each
// layer's run. Run: npm run bench:cascade    (ROUNDS=1 node bench/cascade.ts for a quick trial)
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { GraphView } from "../src/graph/index.ts";
import { startEmulator } from "../test/testkit/emulator.ts";
import { endpointConfig, layerFiles } from "../test/testkit/layers.ts";
import { servedSampleRepo, settled, startService, waitFor } from "../test/testkit/service.ts";

const ROUNDS = Number(process.env.ROUNDS ?? 3);
const LAYERS = ["network", "cluster", "app"];

const emu = await startEmulator();
const served = await servedSampleRepo({ ...layerFiles(LAYERS, "vpc-0"), "stackd.yaml": 'stacks:\n  "*":\n    drift: "off"\n' });
served.repo.git("rm", "-q", "stacks/Pulumi.dev.yaml", "stacks/Pulumi.prod.yaml");
served.repo.git("commit", "-q", "-m", "layers only");
served.push();
const svc = await startService({ repo: served.url, dataDir: fs.mkdtempSync(path.join(os.tmpdir(), "stackd-bench-cascade-")), env: emu.env });
try {
  const firstPass = Date.now();
  const top = `${LAYERS.at(-1)}/dev`;
  await waitFor("the first pass", () => svc.runs(top).some((r) => r.status === "succeeded"), 1_800_000);
  await settled(svc, 1_800_000);
  const runs = svc.runs().length;
  console.log(`first pass: ${((Date.now() - firstPass) / 1000).toFixed(1)} s, ${runs} runs (layers learn what they read as they fail and retry)`);
  console.log("\nround | cascade wall s | sum of runs s | " + LAYERS.map((l) => `${l} s`).join(" | "));
  for (let round = 1; round <= ROUNDS; round++) {
    served.repo.commit({ [`${LAYERS[0]}/Pulumi.dev.yaml`]: endpointConfig(LAYERS[0]!, `vpc-${round}`) }, `network: endpoint vpc-${round}`);
    const head = served.push();
    await svc.pushWebhook(head);
    const root = await waitFor("the network run", () => svc.runs(`${LAYERS[0]}/dev`).find((r) => r.revision === head));
    await waitFor("the cascade to reach the top", () => svc.runs(top).some((r) => r.trigger === "cascade" && r.status === "succeeded" && Date.parse(r.createdAt) >= Date.parse(root.createdAt)), 1_800_000);
    await settled(svc, 1_800_000);
    const cascade = ((await (await svc.api("/api/graph")).json()) as GraphView).lastCascade;
    if (!cascade || cascade.root.run !== root.id || cascade.runs.length !== LAYERS.length) throw new Error(`round ${round}: the cascade is not the three layers: ${JSON.stringify(cascade)}`);
    const perLayer = LAYERS.map((l) => cascade.runs.find((r) => r.stack === `${l}/dev`)?.seconds?.toFixed(1) ?? "-");
    console.log(`${round} | ${cascade.seconds?.toFixed(1)} | ${cascade.sumOfRuns.toFixed(1)} | ${perLayer.join(" | ")}`);
  }
} finally {
  await svc.stop();
  await served.daemon.stop();
  await emu.stop();
}
