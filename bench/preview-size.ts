// Size of a preview report for a change of 50 resources (markdown and JSON),
// and its wall time. Run: npm run bench:preview
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { renderMarkdown } from "../src/previews/index.ts";
import { previewChange, reconcile } from "../src/reconciler/index.ts";
import { devOnlySampleRepo } from "./lib.ts";
import { startEmulator } from "../test/testkit/emulator.ts";

const N = Number(process.env.RESOURCES ?? 50);
const emu = await startEmulator();
try {
  const repo = devOnlySampleRepo();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "stackd-bench-"));
  await reconcile({ repo: repo.dir, dataDir, env: emu.env });
  repo.git("checkout", "-q", "-b", "many");
  const program = `${repo.read("infra/index.ts")}
for (let i = 0; i < ${N}; i++) {
    new Parameter(\`setting-\${i}\`, { name: \`/\${prefix}/\${stack}/settings/\${i}\`, value: \`value-\${i}\`, description: "generated" });
}
`;
  repo.commit({ "infra/index.ts": program }, `${N} parameters`);
  repo.git("checkout", "-q", "main");
  const t0 = Date.now();
  const report = await previewChange({ repo: repo.dir, ref: "many", base: "main", dataDir, env: emu.env });
  const seconds = (Date.now() - t0) / 1000;
  const md = renderMarkdown(report, { baseLabel: "main" });
  const json = JSON.stringify(report, null, 2);
  const created = report.stacks[0]!.resources.filter((r) => r.op === "create").length;
  console.log(`${created} resources to create: preview ${seconds.toFixed(1)} s`);
  console.log(`markdown report: ${md.length} characters (${(Buffer.byteLength(md) / 1024).toFixed(1)} KiB), JSON report: ${(Buffer.byteLength(json) / 1024).toFixed(1)} KiB`);
} finally {
  await emu.stop();
}
