// Serves repositories over git:// on loopback with git's own daemon, so tests
// clone and fetch across a real transport.
import { spawn } from "node:child_process";
import net from "node:net";
import { freePort } from "./emulator.ts";

export interface GitDaemon {
  url(repoDirName: string): string;
  stop(): Promise<void>;
}

export async function serveGit(baseDir: string): Promise<GitDaemon> {
  const port = await freePort();
  const proc = spawn(
    "git",
    ["daemon", "--reuseaddr", "--export-all", "--listen=127.0.0.1", `--port=${port}`, `--base-path=${baseDir}`, baseDir],
    { stdio: "ignore" },
  );
  const deadline = Date.now() + 10_000;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, "127.0.0.1", () => (s.end(), resolve(true)));
      s.on("error", () => resolve(false));
    });
    if (open) break;
    if (Date.now() > deadline) throw new Error("git daemon did not start");
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: (name) => `git://127.0.0.1:${port}/${name}`,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once("exit", () => resolve());
        proc.kill("SIGTERM");
      }),
  };
}
