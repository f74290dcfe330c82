#!/usr/bin/env node
// stackd runs its TypeScript sources directly, which needs Node >= 22.18. When
// started by an older node, hand over to the Node 24 that `npm run setup`
// installed beside the sources: as a child that gets every signal this
// process gets, so stopping the process a user started stops stackd.
import { spawn } from "node:child_process";
import os from "node:os";
import { fileURLToPath } from "node:url";
import path from "node:path";

// `stackd serve` lives for weeks on a heap of about 40 MB, but V8 grows its
// young generation to 128 MB under a steady stream of requests and runs, and
// gives it back only when the process idles: two thirds of the service's
// memory while it applies 1,000 stacks. 8 MB semi-spaces bound it to 16 MB.
// Not a heap limit: nothing is refused, garbage is only collected sooner.
const YOUNG_GENERATION = "--max-semi-space-size=8";

const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const node = path.join(here, "..", "node_modules", ".bin", "node");
  const child = spawn(node, [YOUNG_GENERATION, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: "inherit" });
  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"]) process.on(signal, () => child.kill(signal));
  child.on("error", () => {
    console.error(`stackd: needs Node >= 22.18 (found ${process.versions.node}); run \`npm run setup\` first`);
    process.exit(2);
  });
  child.on("exit", (code, signal) => process.exit(code ?? 128 + (os.constants.signals[signal] ?? 0)));
} else {
  if (process.argv[2] === "serve" && !process.execArgv.some((a) => a.startsWith("--max-semi-space-size")) && typeof process.execve === "function") {
    // The flag only takes effect when V8 starts: the service becomes this same
    // process (same PID, same signals, same output) started again with it.
    // execve is experimental in Node 24; its warning would be the service's
    // first output line, and says nothing to a user.
    const emitWarning = process.emitWarning;
    process.emitWarning = () => {};
    try {
      process.execve(process.execPath, [process.execPath, ...process.execArgv, YOUNG_GENERATION, ...process.argv.slice(1)], process.env);
    } catch {
      // Where the process cannot be replaced, the service runs as it is, with V8's defaults.
      process.emitWarning = emitWarning;
    }
  }
  await import("../src/cli/index.ts");
}
