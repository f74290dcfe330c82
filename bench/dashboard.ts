// The dashboard's stacks page with STACKS stacks in the ledger (default
// 1000): bytes transferred on a first visit, first contentful paint, and the
// server's time to render the page, as chromium (playwright-core) and a
// plain client measure them. The ledger is filled directly (each stack with a
// finished run and a drift check), and the server is built in-process
// without syncing, so the figures are the page's own.
// Run: npm run bench:dashboard
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { TokenRegistry } from "../src/access/index.ts";
import { openLedgerStore } from "../src/ledger/index.ts";
import { Controller } from "../src/reconciler/index.ts";
import { buildServer } from "../src/server/index.ts";
import { launchBrowser } from "../test/testkit/browser.ts";

const STACKS = Number(process.env.STACKS ?? 1000);
const work = fs.mkdtempSync(path.join(os.tmpdir(), "stackd-bench-dashboard-"));
const repo = path.join(work, "repo");
fs.mkdirSync(repo);
execFileSync("git", ["-c", "user.email=b@example.com", "-c", "user.name=bench", "init", "-q", "-b", "main"], { cwd: repo });
execFileSync("git", ["-c", "user.email=b@example.com", "-c", "user.name=bench", "commit", "-q", "--allow-empty", "-m", "empty"], { cwd: repo });

const dataDir = path.join(work, "data");
const ledger = openLedgerStore(dataDir);
for (let i = 0; i < STACKS; i++) {
  const name = `fleet-${String(i % 20).padStart(2, "0")}/stack-${String(i).padStart(4, "0")}`;
  ledger.stacks.upsert({ name, project: name.split("/")[0]!, stack: name.split("/")[1]!, applyMode: i % 10 === 0 ? "manual" : "auto" });
  const run = ledger.runs.create({ stack: name, revision: "a".repeat(40), kind: "up", trigger: "poll" });
  ledger.runs.start(run.id, 0);
  ledger.runs.finish(run.id, { status: "succeeded", changes: { create: 0, update: 1, replace: 0, delete: 0, same: 4 }, log: "" });
  ledger.stacks.recordOutcome(name, { applied: "a".repeat(40), failed: false, result: "succeeded" });
  ledger.drift.recordCheck(name, new Date().toISOString(), i % 7 === 0);
}
ledger.close();

const token = "stackd_bench-dashboard-token";
const controller = new Controller({ repo, dataDir, logger: { info() {}, warn() {}, error() {} } });
const app = await buildServer({ controller, tokens: new TokenRegistry({ held: [{ name: "bench", role: "admin", token }] }) });
const url = await app.listen({ port: 0, host: "127.0.0.1" });
const browser = await launchBrowser();
try {
  const signIn = await fetch(`${url}/ui/session`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `token=${token}`, redirect: "manual" });
  const [name, value] = signIn.headers.get("set-cookie")!.split(";")[0]!.split("=") as [string, string];

  // The server's own time: the page rendered 10 times after a first warm-up.
  const times: number[] = [];
  for (let i = 0; i < 11; i++) {
    const t = performance.now();
    await (await fetch(`${url}/`, { headers: { cookie: `${name}=${value}` } })).text();
    if (i > 0) times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);

  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  await context.addCookies([{ name, value, url }]);
  const page = await context.newPage();
  await page.goto(`${url}/`);
  await page.getByRole("heading", { name: "Stacks" }).waitFor();
  const m = await page.evaluate(() => {
    const nav = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming;
    const all = [nav, ...(performance.getEntriesByType("resource") as PerformanceResourceTiming[]).filter((r) => !r.name.includes("/ui/events"))];
    return {
      bytes: all.reduce((n, r) => n + r.transferSize, 0),
      html: nav.transferSize,
      requests: all.map((r) => new URL(r.name).pathname).join(", "),
      fcp: performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? -1,
      domContentLoaded: nav.domContentLoadedEventEnd,
      rows: document.querySelectorAll("tr[data-stack]").length,
    };
  });
  // Typing in the filter hides rows in the page itself.
  const t = performance.now();
  await page.getByLabel("Filter").fill("stack-0999");
  await page.waitForFunction(() => document.querySelectorAll("tr[data-stack]:not([hidden])").length <= 1);
  const filterMs = performance.now() - t;
  console.log(`stacks page with ${m.rows} stacks, first visit: ${m.bytes} bytes transferred (${m.requests}; the HTML ${m.html} bytes)`);
  console.log(`first contentful paint ${m.fcp.toFixed(0)} ms, DOMContentLoaded ${m.domContentLoaded.toFixed(0)} ms`);
  console.log(`server render of GET /: median ${times[5]!.toFixed(1)} ms, max ${times.at(-1)!.toFixed(1)} ms (10 requests)`);
  console.log(`filter to one row: ${filterMs.toFixed(0)} ms`);
  await context.close();
} finally {
  await browser.close();
  await app.close();
  controller.ledger.close();
  fs.rmSync(work, { recursive: true, force: true });
}
