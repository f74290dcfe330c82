// Resident memory of the `stackd serve` process with STACKS stacks registered
// (default 1000): peak while it applies them, and idle afterwards. The stacks
// belong to a project with no resources, so the figure is stackd's own, not a
// program's. Applying 1,000 stacks takes long: SAMPLE_SECONDS stops after that
// many seconds of applying and reports the peak so far.
// Run: npm run bench:rss (STACKS=100 for every stack applied)
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { installRoot } from "../src/support/index.ts";
import { freePort } from "../test/testkit/emulator.ts";

const STACKS = Number(process.env.STACKS ?? 1000);
const SAMPLE_SECONDS = Number(process.env.SAMPLE_SECONDS ?? (STACKS > 100 ? 180 : 1800));

function rssKiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]);
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), "stackd-rss-"));
const repo = path.join(work, "repo");
fs.mkdirSync(path.join(repo, "fleet", "stacks"), { recursive: true });
fs.writeFileSync(path.join(repo, "fleet", "Pulumi.yaml"), "name: fleet\nruntime: nodejs\nmain: index.js\nstackConfigDir: stacks\n");
fs.writeFileSync(path.join(repo, "fleet", "index.js"), "export const ok = true;\n");
// The program needs @pulumi/pulumi: stackd's own lockfile, whose install is already cached.
for (const f of ["package.json", "package-lock.json"]) fs.copyFileSync(path.join(installRoot, f), path.join(repo, "fleet", f));
for (let i = 0; i < STACKS; i++) fs.writeFileSync(path.join(repo, "fleet", "stacks", `Pulumi.s${String(i).padStart(3, "0")}.yaml`), "config: {}\n");
const git = (...a: string[]) => execFileSync("git", ["-c", "user.email=b@example.com", "-c", "user.name=bench", ...a], { cwd: repo });
git("init", "-q", "-b", "main");
git("add", "-A");
git("commit", "-qm", "fleet");

const port = await freePort();
const url = `http://127.0.0.1:${port}`;
const token = "stackd_bench-rss-token";
const auth = { headers: { authorization: `Bearer ${token}` } };
const proc = spawn(process.execPath, [path.join(installRoot, "bin", "stackd.js"), "serve", "--repo", repo, "--data-dir", path.join(work, "data"), "--port", String(port)], {
  stdio: "ignore",
  env: { ...process.env, STACKD_API_TOKEN: token },
});
let peak = 0;
const started = Date.now();
try {
  for (;;) {
    await new Promise((r) => setTimeout(r, 500));
    peak = Math.max(peak, rssKiB(proc.pid!));
    const body = await fetch(`${url}/api/stacks`, auth).then((r) => r.json() as Promise<{ stacks: { sync: string; lastResult: string | null }[] }>).catch(() => undefined);
    if (body && body.stacks.length === STACKS && body.stacks.every((s) => s.lastResult !== null)) break;
    if (body && body.stacks.length === STACKS && Date.now() - started > SAMPLE_SECONDS * 1000) break;
    if (Date.now() - started > 1_800_000) throw new Error("timed out");
  }
  const seconds = (Date.now() - started) / 1000;
  await new Promise((r) => setTimeout(r, 2000));
  const idle = rssKiB(proc.pid!);
  const body = (await (await fetch(`${url}/api/stacks`, auth)).json()) as { stacks: { lastResult: string }[] };
  const ok = body.stacks.filter((s) => s.lastResult === "succeeded").length;
  console.log(`${STACKS} stacks registered, ${ok} applied in ${seconds.toFixed(0)} s at parallelism 2`);
  console.log(`stackd serve RSS: peak ${(peak / 1024).toFixed(0)} MiB while applying, ${(idle / 1024).toFixed(0)} MiB ${ok === STACKS ? "idle afterwards" : "2 s later, still applying"}`);
} finally {
  proc.kill("SIGTERM");
}
