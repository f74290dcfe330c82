#!/usr/bin/env node
// stackd runs its TypeScript sources directly, which needs Node >= 22.18. When
// started by an older node, hand over to the Node 24 that `npm run setup`
// installed beside the sources: as a child that gets every signal this
// process gets, so stopping the process a user started stops stackd.
import { spawn } from "node:child_process";
import os from "node:os";
import { fileURLToPath } from "node:url";
import path from "node:path";

const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const node = path.join(here, "..", "node_modules", ".bin", "node");
  const child = spawn(node, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: "inherit" });
  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"]) process.on(signal, () => child.kill(signal));
  child.on("error", () => {
    console.error(`stackd: needs Node >= 22.18 (found ${process.versions.node}); run \`npm run setup\` first`);
    process.exit(2);
  });
  child.on("exit", (code, signal) => process.exit(code ?? 128 + (os.constants.signals[signal] ?? 0)));
} else {
  await import("../src/cli/index.ts");
}
