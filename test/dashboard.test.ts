// The dashboard in a real browser (Debian's chromium through playwright-core)
// against a real `stackd serve` on the sample repository and the emulator.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PreviewRecord, Run } from "../src/ledger/index.ts";
import { installRoot } from "../src/support/index.ts";
import { cloud } from "./testkit/aws.ts";
import { launchBrowser } from "./testkit/browser.ts";
import { runStackd, spawnServe, type ServeProcess } from "./testkit/cli.ts";
import { freePort, startEmulator, type Emulator } from "./testkit/emulator.ts";
import { startFakeGitHub, type FakeGitHub } from "./testkit/github.ts";
import { commitStackSecret } from "./testkit/secrets.ts";
import { GITHUB_TOKEN, WEBHOOK_SECRET, pullRequestWebhook, servedSampleRepo, waitFor } from "./testkit/service.ts";

const CANARY = "canary-dashboard-5d81c3a9e2";
const DEV = "stacks/Pulumi.dev.yaml";
const PROD = "stacks/Pulumi.prod.yaml";
/** Where the tests leave the screenshots README shows. */
const SHOTS = path.join(installRoot, "docs", "screenshots");

let emu: Emulator;
let github: FakeGitHub;
let served: Awaited<ReturnType<typeof servedSampleRepo>>;
let svc: ServeProcess;
let url: string;
let browser: Browser;
const tokens = { owner: "", viewer: "" };
/** Everything the browsers were sent or showed: response bodies, page HTML, console messages, URLs. */
const surfaces: { where: string; text: string }[] = [];

const aws = () => cloud(emu);
const api = async <T>(route: string, init: RequestInit & { token?: string } = {}): Promise<{ status: number; body: T }> => {
  const res = await fetch(`${url}${route}`, { ...init, headers: { authorization: `Bearer ${init.token ?? tokens.owner}` } });
  return { status: res.status, body: (await res.json()) as T };
};
const runsOf = async (stack: string) => (await api<{ runs: Run[] }>(`/api/runs?stack=${stack}&limit=100`)).body.runs;
const awaitingOf = async (revision: string) => (await runsOf("sample-infra/prod")).find((r) => r.status === "awaiting_approval" && r.revision === revision);

/** A browser session of its own, every response and console line recorded. */
async function contextFor(): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  context.on("response", (res) => {
    surfaces.push({ where: `url ${res.url()}`, text: res.url() });
    res.text().then(
      (text) => surfaces.push({ where: `response ${res.url()}`, text }),
      () => {},
    );
  });
  context.on("console", (msg) => surfaces.push({ where: "console", text: msg.text() }));
  return context;
}

/** Signs in through the form, as a person does; the page is left on the stacks list. */
async function signIn(token: string): Promise<Page> {
  const page = await (await contextFor()).newPage();
  await page.goto(`${url}/`);
  expect(new URL(page.url()).pathname).toBe("/sign-in");
  await page.getByLabel("API token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Stacks" }).waitFor();
  return page;
}

/** Keeps what a page shows for the leak check. */
async function keep(page: Page): Promise<void> {
  surfaces.push({ where: `dom ${page.url()}`, text: await page.content() });
}

const row = (page: Page, stack: string): Locator => page.locator(`tr[data-stack="sample-infra/${stack}"]`);
const badge = (scope: Locator | Page, word: string): Locator => scope.locator(".badge", { hasText: new RegExp(`^${word}$`) });

beforeAll(async () => {
  emu = await startEmulator();
  github = await startFakeGitHub();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "stackd-dashboard-"));
  served = await servedSampleRepo();
  await commitStackSecret(served.repo, dataDir, "dev", "apiKey", CANARY);
  served.push();
  const file = path.join(dataDir, "dashboard tokens.yaml");
  tokens.owner = (await runStackd(["token", "create", "owner", "--role", "admin", "--tokens", file])).stdout.trim();
  tokens.viewer = (await runStackd(["token", "create", "viewer", "--role", "read", "--tokens", file])).stdout.trim();
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  svc = spawnServe(["--data-dir", dataDir, "--port", String(port), "--poll-interval", "1", "--tokens", file, "--grace", "5"], {
    ...emu.env,
    STACKD_REPO: served.url,
    STACKD_WEBHOOK_SECRET: WEBHOOK_SECRET,
    STACKD_GITHUB_TOKEN: GITHUB_TOKEN,
    STACKD_GITHUB_API_URL: github.url,
  });
  await waitFor("the service to fetch the repository", async () => (await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200, 60_000);
  browser = await launchBrowser();
  fs.mkdirSync(SHOTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await svc?.stop();
  await github?.stop();
  await served?.daemon.stop();
  await emu?.stop();
});

describe("the dashboard", () => {
  it("asks for a token, keeps only a session cookie, and shows both stacks Synced", async () => {
    const context = await contextFor();
    const page = await context.newPage();
    await page.goto(`${url}/stacks/sample-infra/dev`);
    expect(page.url()).toBe(`${url}/sign-in?next=${encodeURIComponent("/stacks/sample-infra/dev")}`);
    await page.getByLabel("API token").fill("stackd_not-a-token");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").filter({ hasText: "That token is not valid." }).waitFor();
    await page.getByLabel("API token").fill(tokens.owner);
    await page.getByRole("button", { name: "Sign in" }).click();
    // Back where the browser was going, signed in.
    await page.getByRole("heading", { name: "sample-infra/dev" }).waitFor();
    expect(new URL(page.url()).pathname).toBe("/stacks/sample-infra/dev");
    const cookies = await context.cookies();
    expect(cookies.map((c) => [c.name, c.httpOnly, c.sameSite, c.expires])).toEqual([["stackd_session", true, "Strict", -1]]);
    expect(await page.evaluate(() => [localStorage.length, sessionStorage.length, document.cookie])).toEqual([0, 0, ""]);

    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Stacks" }).click();
    // The first applies may still be running: the rows turn Synced without a reload.
    await badge(row(page, "dev"), "Synced").waitFor({ timeout: 180_000 });
    await badge(row(page, "prod"), "Synced").waitFor({ timeout: 180_000 });
    expect(await row(page, "dev").locator("th").innerText()).toBe("sample-infra/dev");
    await page.screenshot({ path: path.join(SHOTS, "stacks.png") });
    await keep(page);

    // The filter hides what does not match, live.
    await page.getByLabel("Filter").fill("prod");
    await row(page, "dev").waitFor({ state: "hidden" });
    expect(await row(page, "prod").isVisible()).toBe(true);
    expect(new URL(page.url()).search).toBe("?q=prod");
    await page.getByLabel("Filter").fill("");
    await page.getByLabel("Condition").selectOption("Drifted");
    await row(page, "prod").waitFor({ state: "hidden" });
    await page.getByLabel("Condition").selectOption("");

    // On a phone the page fits the screen's width; only the table scrolls sideways, inside its box.
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    expect(await row(page, "dev").isVisible()).toBe(true);
    await page.setViewportSize({ width: 1280, height: 860 });

    // Page weight and time to first render, as the browser measured them on a first visit (nothing cached).
    const cold = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    await cold.addCookies(cookies);
    const fresh = await cold.newPage();
    await fresh.goto(`${url}/`);
    await fresh.getByRole("heading", { name: "Stacks" }).waitFor();
    // The heading can be in the page before the browser has recorded its first paint and the load event.
    await fresh.waitForLoadState("load");
    await fresh.waitForFunction(() => performance.getEntriesByName("first-contentful-paint").length > 0, undefined, { timeout: 10_000 });
    const measured = await fresh.evaluate(() => {
      const nav = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming;
      const resources = (performance.getEntriesByType("resource") as PerformanceResourceTiming[]).filter((r) => !r.name.includes("/ui/events"));
      const paint = performance.getEntriesByName("first-contentful-paint")[0];
      const all = [nav, ...resources];
      return {
        bytes: all.reduce((n, r) => n + r.transferSize, 0),
        body: all.reduce((n, r) => n + r.decodedBodySize, 0),
        requests: all.length,
        firstContentfulPaint: paint?.startTime ?? -1,
        loaded: nav.loadEventEnd,
      };
    });
    console.log(
      `stacks page, first visit: ${measured.bytes} bytes transferred (${measured.body} bytes of bodies) in ${measured.requests} requests; ` +
        `first contentful paint at ${measured.firstContentfulPaint.toFixed(0)} ms, load event at ${measured.loaded.toFixed(0)} ms`,
    );
    expect(measured.requests).toBe(3);
    // Compressed on the wire: fewer bytes came than the bodies hold.
    expect(measured.bytes).toBeLessThan(measured.body);
    expect(measured.firstContentfulPaint).toBeGreaterThan(0);
    await cold.close();
    await context.close();
  });

  it("works without JavaScript: sign in, the stacks list, the filter as a form", async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${url}/`);
    await page.getByLabel("API token").fill(tokens.viewer);
    await page.getByRole("button", { name: "Sign in" }).click();
    await badge(row(page, "prod"), "Synced").waitFor();
    await page.getByLabel("Filter").fill("dev");
    await page.getByRole("button", { name: "Apply" }).click();
    await page.waitForURL(`${url}/?q=dev&condition=`);
    expect([await row(page, "dev").isVisible(), await row(page, "prod").isVisible()]).toEqual([true, false]);
    expect(await page.locator("#shown").innerText()).toBe("1 of 2 shown");
    await context.close();
  });

  it("a commit turns the row Reconciling then Synced without a reload, while the run's log streams in", async () => {
    const page = await signIn(tokens.owner);
    await badge(row(page, "dev"), "Synced").waitFor();
    await page.evaluate(() => ((window as unknown as { stayed: boolean }).stayed = true));
    // A slow resource keeps the run going long enough to watch; the tag gives the plan a property diff.
    served.repo.commit(
      // (At the top of config: the engine wrote the secret's encryptionsalt after it.)
      { [DEV]: served.repo.read(DEV).replace("dataClass: internal", "dataClass: confidential").replace("config:\n", 'config:\n  sample-infra:pauseSeconds: "8"\n  sample-infra:pauseToken: "a"\n') },
      "dev: confidential, and slow",
    );
    const head = served.push();
    await badge(row(page, "dev"), "Reconciling").waitFor({ timeout: 60_000 });
    const run = await waitFor("the run of the new head", async () => (await runsOf("sample-infra/dev")).find((r) => r.revision === head && r.kind === "up"));

    const runPage = await page.context().newPage();
    await runPage.goto(`${url}/runs/${run.id}`);
    await runPage.evaluate(() => ((window as unknown as { stayed: boolean }).stayed = true));
    const log = runPage.locator("#run-log");
    // The update's header arrives while the engine still works on the slow resource.
    const logHas = (text: string) => runPage.waitForFunction((t) => (document.getElementById("run-log")?.textContent ?? "").includes(t), text, { timeout: 120_000 });
    await logHas("Updating (dev):");
    const duringRun = (await api<Run>(`/api/runs/${run.id}`)).body.status;
    const textThen = await log.innerText();
    expect(duringRun).toBe("running");
    expect(textThen).not.toContain("Duration:");
    await logHas("Duration:");
    expect((await log.innerText()).split("\n").length).toBeGreaterThan(textThen.split("\n").length);
    // When it ends the summary follows: status, and the plan's property diff.
    await badge(runPage.locator("h1"), "succeeded").waitFor({ timeout: 30_000 });
    await runPage.getByText('"internal" → "confidential"').waitFor();
    expect(await runPage.locator("table.plan").innerText()).toMatch(/update\s+data/);
    await runPage.screenshot({ path: path.join(SHOTS, "run.png"), fullPage: true });
    await keep(runPage);

    await badge(row(page, "dev"), "Synced").waitFor({ timeout: 60_000 });
    expect(await row(page, "dev").locator("code").first().getAttribute("title")).toBe(head);
    expect(await Promise.all([page, runPage].map((p) => p.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)))).toEqual([true, true]);
    await keep(page);
    await page.context().close();
  });

  it("a manual stack's preview is approved by clicking Approve, and the cloud changes", async () => {
    served.repo.commit(
      { "stackd.yaml": 'stacks:\n  "*/prod":\n    apply: manual\n', [PROD]: served.repo.read(PROD).replace("dataClass: internal", "dataClass: restricted") },
      "prod: manual, restricted",
    );
    const head = served.push();
    const preview = await waitFor("the prod preview", () => awaitingOf(head), 180_000);
    const page = await signIn(tokens.owner);
    await badge(row(page, "prod"), "AwaitingApproval").waitFor();
    await page.goto(`${url}/runs/${preview.id}`);
    await page.getByText(`sha256:${preview.planDigest}`).waitFor();
    await page.getByText('"internal" → "restricted"').waitFor();
    expect((await aws().bucketTags("stackd-sample-prod-data")).dataClass).toBe("internal");
    await keep(page);
    await page.getByRole("button", { name: "Approve" }).click();
    // The browser is taken to the up that applies that plan, which updates as it runs.
    await page.getByText("Approved: applying exactly the approved plan.").waitFor();
    expect(page.url()).toMatch(/\/runs\/[^/?]+\?notice=approved$/);
    await badge(page.locator("h1"), "succeeded").waitFor({ timeout: 180_000 });
    expect((await aws().bucketTags("stackd-sample-prod-data")).dataClass).toBe("restricted");
    const up = (await runsOf("sample-infra/prod"))[0]!;
    expect([up.kind, up.approvalOf, up.requestedBy, up.status]).toEqual(["up", preview.id, "owner", "succeeded"]);
    await keep(page);
    await page.context().close();
  });

  it("drift made with the AWS SDK shows its diff after “Check drift now”", async () => {
    const bucket = "stackd-sample-dev-data";
    const tags = await aws().bucketTags(bucket);
    await aws().tagBucket(bucket, { ...tags, owner: "someone-by-hand" });
    const page = await signIn(tokens.owner);
    await page.goto(`${url}/stacks/sample-infra/dev`);
    await badge(page.locator("#stack-status"), "InSync").or(badge(page.locator("#stack-status"), "Unknown")).first().waitFor();
    await page.getByRole("button", { name: "Check drift now" }).click();
    await page.getByText("Drift check queued").waitFor();
    // The page follows the check and shows the episode when it ends.
    const drift = page.locator(".drift");
    await drift.waitFor({ timeout: 180_000 });
    expect(await drift.innerText()).toMatch(/tags\.owner: "platform-team" → "someone-by-hand"/);
    await badge(page.locator("#stack-status"), "Drifted").waitFor();
    await keep(page);
    await page.context().close();
  });

  it("a read-only token is offered no Approve, Reject or Reconcile, and is refused if it tries", async () => {
    served.repo.commit({ [PROD]: served.repo.read(PROD).replace("dataClass: restricted", "dataClass: public") }, "prod: public");
    const head = served.push();
    const preview = await waitFor("the second prod preview", () => awaitingOf(head), 180_000);

    const page = await signIn(tokens.viewer);
    await page.goto(`${url}/runs/${preview.id}`);
    await page.getByText("Approving needs the admin role.").waitFor();
    expect(await page.getByRole("button").allInnerTexts()).toEqual(["Sign out"]);
    await page.goto(`${url}/stacks/sample-infra/prod`);
    expect(await page.getByRole("button").allInnerTexts()).toEqual(["Sign out"]);
    await keep(page);
    // Asking anyway: through the dashboard's own route with the session, and through the API.
    const viaSession = await page.context().request.post(`${url}/ui/approvals/${preview.id}`, { maxRedirects: 0 });
    expect(viaSession.status()).toBe(403);
    expect(await viaSession.text()).toContain("has the role read; this needs admin");
    expect((await api(`/api/approvals/${preview.id}`, { method: "POST", token: tokens.viewer })).status).toBe(403);
    expect((await api<Run>(`/api/runs/${preview.id}`)).body.status).toBe("awaiting_approval");
    // A form posted from another site is refused, whatever the session may do.
    const owner = await signIn(tokens.owner);
    const crossSite = await owner.context().request.post(`${url}/ui/approvals/${preview.id}`, { headers: { origin: "http://elsewhere.example" }, maxRedirects: 0 });
    expect(crossSite.status()).toBe(403);
    await page.context().close();

    // The owner rejects it: nothing is applied, and the stack waits for a new commit.
    await owner.goto(`${url}/runs/${preview.id}`);
    await owner.getByRole("button", { name: "Reject" }).click();
    await badge(owner.locator("h1"), "rejected").waitFor();
    await owner.getByText("rejected by owner").waitFor();
    expect((await aws().bucketTags("stackd-sample-prod-data")).dataClass).toBe("restricted");
    await keep(owner);
    const again = await runStackd(["reject", preview.id, "--api", url], { STACKD_API_TOKEN: tokens.owner });
    expect([again.code, again.stderr.trim()]).toEqual([1, `stackd: rejection refused (409): run ${preview.id} is rejected, not awaiting approval`]);
    // Signing out ends the session on the server, not only in this browser.
    const cookie = (await owner.context().cookies())[0]!;
    await owner.getByRole("button", { name: "Sign out" }).click();
    await owner.getByRole("heading", { name: "Sign in to stackd" }).waitFor();
    const replay = await fetch(`${url}/`, { headers: { cookie: `${cookie.name}=${cookie.value}` }, redirect: "manual" });
    expect([replay.status, replay.headers.get("location")]).toEqual([303, "/sign-in?next=%2F"]);
    await owner.context().close();
  });

  it("lists pull request previews with each report rendered", async () => {
    served.repo.git("checkout", "-q", "-B", "feature", "main");
    served.repo.commit({ [DEV]: served.repo.read(DEV).replace("dataClass: confidential", "dataClass: reviewed") }, "dev: reviewed");
    served.repo.git("push", "-q", "-f", "origin", "feature");
    const sha = served.repo.head();
    served.repo.git("checkout", "-q", "main");
    expect((await pullRequestWebhook(url, { number: 12, action: "opened", headSha: sha, headRef: "feature" })).status).toBe(202);
    const preview = await waitFor(
      "the pull request's preview",
      async () => (await api<{ previews: PreviewRecord[] }>("/api/previews?pr=12")).body.previews.find((p) => p.status === "completed"),
      180_000,
    );
    const page = await signIn(tokens.owner);
    await page.getByRole("link", { name: "PR previews" }).click();
    await page.getByRole("heading", { name: "Pull request #12" }).waitFor();
    await page.locator(`a[href="/previews/${preview.id}"]`).click();
    await page.getByRole("heading", { name: /sample-infra\/dev/ }).waitFor();
    expect(await page.locator("table.plan").first().innerText()).toContain('"confidential" → "reviewed"');
    await keep(page);
    await page.context().close();
  });

  it("shows the canary secret and the tokens nowhere: no page, response, stream, URL or console line", async () => {
    // The canary reached the cloud: the program really used the secret.
    expect(await aws().parameter("/stackd-sample/dev/api-key")).toBe(CANARY);
    // A finished run's log stream, read whole.
    const dev = (await runsOf("sample-infra/dev")).find((r) => r.kind === "up")!;
    const page = await signIn(tokens.owner);
    const stream = await page.context().request.get(`${url}/ui/runs/${dev.id}/log`);
    const text = await stream.text();
    expect(text).toContain("event: end");
    surfaces.push({ where: "log stream", text });
    await page.context().close();
    const secrets = { canary: CANARY, owner: tokens.owner, viewer: tokens.viewer };
    const bodies = surfaces.filter((s) => s.where.startsWith("response")).length;
    console.log(`leak check: ${surfaces.length} surfaces (${bodies} response bodies) searched for ${Object.keys(secrets).length} secrets`);
    expect(bodies).toBeGreaterThan(20);
    for (const s of surfaces) for (const [name, secret] of Object.entries(secrets)) expect(s.text.includes(secret), `${name} in ${s.where}`).toBe(false);
  });
});
