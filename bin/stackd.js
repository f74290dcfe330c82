#!/usr/bin/env node
// stackd runs its TypeScript sources directly, which needs Node >= 22.18. When
// started by an older node, hand over to the Node 24 that `npm run setup`
// installed beside the sources.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import path from "node:path";

const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const node = path.join(here, "..", "node_modules", ".bin", "node");
  const res = spawnSync(node, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: "inherit" });
  if (res.error) {
    console.error(`stackd: needs Node >= 22.18 (found ${process.versions.node}); run \`npm run setup\` first`);
    process.exit(2);
  }
  process.exit(res.status ?? 1);
}
await import("../src/cli/index.ts");
