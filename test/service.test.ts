import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type Emulator } from "./testkit/emulator.ts";
import { cloud } from "./testkit/aws.ts";
import { WEBHOOK_SECRET, servedSampleRepo, settled, startService, waitFor, type TestService } from "./testkit/service.ts";

// Three stacks of one project: dev, prod and qa.
const QA = "config:\n  sample-infra:owner: platform-team\n  sample-infra:costCenter: cc-3001\n  sample-infra:retentionSeconds: \"345600\"\n  sample-infra:dataClass: internal\n";

let emu: Emulator;
let served: Awaited<ReturnType<typeof servedSampleRepo>>;
let svc: TestService;
let dataDir: string;
let aws: ReturnType<typeof cloud>;

function setDataClass(stack: string, value: string): string {
  const file = `stacks/Pulumi.${stack}.yaml`;
  served.repo.commit({ [file]: served.repo.read(file).replace(/dataClass: .*/, `dataClass: ${value}`) }, `${stack}: dataClass ${value}`);
  return served.push();
}

beforeAll(async () => {
  emu = await startEmulator();
  aws = cloud(emu);
  served = await servedSampleRepo({ "stacks/Pulumi.qa.yaml": QA });
  served.push();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "stackd-svc-"));
  svc = await startService({ repo: served.url, dataDir, env: emu.env });
});

afterAll(async () => {
  await svc?.stop();
  await served?.daemon.stop();
  await emu?.stop();
});

describe("stackd serve", () => {
  it("applies every stack of the watched branch on start", async () => {
    await waitFor("three runs", () => svc.runs().length === 3);
    await settled(svc);
    const runs = svc.runs();
    expect(runs.map((r) => `${r.stack}:${r.kind}:${r.trigger}:${r.status}`).sort()).toEqual([
      "sample-infra/dev:up:poll:succeeded",
      "sample-infra/prod:up:poll:succeeded",
      "sample-infra/qa:up:poll:succeeded",
    ]);
    const stacks = (await (await svc.api(`/api/stacks`)).json()) as { stacks: { name: string; sync: string; conditions: string[] }[] };
    expect(stacks.stacks.map((s) => `${s.name}:${s.sync}:${s.conditions.join(",")}`)).toEqual([
      "sample-infra/dev:Synced:Ready",
      "sample-infra/prod:Synced:Ready",
      "sample-infra/qa:Synced:Ready",
    ]);
  });

  it("a wrong or missing webhook signature gets 401 and queues nothing", async () => {
    const before = svc.runs().length;
    const revision = setDataClass("qa", "restricted");
    const wrong = await svc.pushWebhook(revision, "not-the-secret");
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { error: string }).error).toBe("X-Hub-Signature-256 does not match the body");
    const missing = await fetch(`${svc.url}/webhooks/github`, { method: "POST", headers: { "content-type": "application/json", "x-github-event": "push" }, body: "{}" });
    expect(missing.status).toBe(401);
    const generic = await fetch(`${svc.url}/webhooks/git`, { method: "POST", headers: { "x-stackd-secret": "nope" } });
    expect(generic.status).toBe(401);
    // A refused webhook is answered before anything is fetched: nothing can be on its way.
    expect(svc.runs().length).toBe(before);
    expect(svc.controller.info().head).not.toBe(revision);
    expect(svc.controller.queueDepth()).toBe(0);
  });

  it("malformed and oversized webhook bodies get 400 and 413 with a reason", async () => {
    const bad = "{not json";
    const { githubSignature } = await import("../src/server/index.ts");
    const res = await fetch(`${svc.url}/webhooks/github`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-github-event": "push", "x-hub-signature-256": githubSignature(WEBHOOK_SECRET, bad) },
      body: bad,
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe(`body is not valid JSON: ${(() => { try { JSON.parse(bad); } catch (e) { return (e as Error).message; } })()}`);
    const noRef = JSON.stringify({ after: "x" });
    const res2 = await fetch(`${svc.url}/webhooks/github`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-github-event": "push", "x-hub-signature-256": githubSignature(WEBHOOK_SECRET, noRef) },
      body: noRef,
    });
    expect(res2.status).toBe(400);
    expect(((await res2.json()) as { error: string }).error).toMatch(/ref: .*; after: must be a commit sha/);
    const huge = await fetch(`${svc.url}/webhooks/git`, { method: "POST", headers: { "content-type": "application/json" }, body: "x".repeat(2 * 1024 * 1024) });
    expect(huge.status).toBe(413);
  });

  it("a signed push webhook reconciles exactly the one stack the commit affects", async () => {
    const revision = served.repo.head();
    const res = await svc.pushWebhook(revision);
    expect(res.status).toBe(202);
    const run = await waitFor("qa run", () => svc.runs().find((r) => r.revision === revision));
    expect(run.trigger).toBe("webhook");
    await settled(svc);
    expect(svc.runs().filter((r) => r.revision === revision).map((r) => `${r.stack}:${r.status}`)).toEqual(["sample-infra/qa:succeeded"]);
    expect((await aws.bucketTags("stackd-sample-qa-data")).dataClass).toBe("restricted");
    const stacks = (await svc.controller.status());
    expect(stacks.every((s) => s.sync === "Synced" && s.appliedRevision === revision)).toBe(true);
  });

  it("a burst of 5 commits ends at the last commit's state, intermediates recorded as skipped", async () => {
    const revisions: string[] = [];
    for (let i = 1; i <= 5; i++) {
      revisions.push(setDataClass("dev", `burst-${i}`));
      expect((await svc.pushWebhook(revisions.at(-1)!)).status).toBe(202);
    }
    await waitFor("run of the last commit", () => svc.runs("sample-infra/dev").find((r) => r.revision === revisions[4]));
    await settled(svc);
    expect((await aws.bucketTags("stackd-sample-dev-data")).dataClass).toBe("burst-5");
    const devRuns = svc.runs("sample-infra/dev").filter((r) => revisions.includes(r.revision));
    const last = devRuns.filter((r) => r.revision === revisions[4]);
    expect(last.map((r) => r.status)).toEqual(["succeeded"]);
    const skipped = devRuns.filter((r) => r.status === "skipped");
    expect(skipped.length).toBeGreaterThanOrEqual(1);
    // Each names the run that replaced it: one of the burst's own.
    const replacements = new Set(devRuns.map((r) => `coalesced: superseded by ${r.id} at ${r.revision.slice(0, 12)}`));
    for (const r of skipped) expect([...replacements]).toContain(r.error);
    // Every revision the webhooks announced is accounted for: applied or recorded as skipped.
    expect(new Set(devRuns.map((r) => r.revision))).toEqual(new Set(revisions));
    expect(devRuns.every((r) => r.status === "succeeded" || r.status === "skipped")).toBe(true);
    // No other stack ran for these commits (a scheduled drift check of an unaffected stack, which reads, may fall in this minute).
    expect(svc.runs().filter((r) => revisions.includes(r.revision) && r.stack !== "sample-infra/dev" && r.kind !== "refresh")).toEqual([]);
  });

  it("a restart keeps history and status, and new commits are found by polling", async () => {
    const before = svc.runs().map((r) => `${r.id}:${r.status}`);
    const statusBefore = (await svc.controller.status()).map((s) => `${s.name}:${s.sync}:${s.appliedRevision}`);
    await svc.stop();
    svc = await startService({ repo: served.url, dataDir, env: emu.env, pollIntervalMs: 1000 });
    expect(svc.runs().map((r) => `${r.id}:${r.status}`)).toEqual(before);
    expect((await svc.controller.status()).map((s) => `${s.name}:${s.sync}:${s.appliedRevision}`)).toEqual(statusBefore);

    const revision = setDataClass("prod", "polled");
    const run = await waitFor("poll to find the commit", () => svc.runs("sample-infra/prod").find((r) => r.revision === revision), 60_000);
    expect(run.trigger).toBe("poll");
    await settled(svc);
    expect((await aws.bucketTags("stackd-sample-prod-data")).dataClass).toBe("polled");
  });

  it("serves runs with their logs, and metrics", async () => {
    const [latest] = svc.runs();
    const run = (await (await svc.api(`/api/runs/${latest!.id}`)).json()) as { log: string; resources: unknown[] };
    // An up run's log holds its preview and its update, as the engine printed them.
    expect(run.log).toContain("Previewing update (prod):");
    expect(run.log).toContain("Updating (prod):");
    expect(run.resources.length).toBe(3);
    const missing = await svc.api(`/api/runs/run_nope`);
    expect(missing.status).toBe(404);
    const metrics = await (await svc.api("/metrics")).text();
    expect(metrics).toMatch(/stackd_runs_total\{kind="up",result="succeeded"\} [1-9]/);
    expect(metrics).toMatch(/stackd_stacks\{condition="Ready"\} 3/);
    expect(metrics).toContain("stackd_queue_depth 0");
    expect(metrics).toContain("stackd_run_duration_seconds_bucket");
  });
});

describe("a bad stackd.yaml", () => {
  it("is reported with file, field and reason while the last good settings stay in force", async () => {
    const revision = (served.repo.commit({ "stackd.yaml": "parallelism: lots\nstacks:\n  dev:\n    apply: sometimes\n" }, "bad settings"), served.push());
    await svc.pushWebhook(revision);
    const info = await waitFor("settings error", async () => {
      const body = (await (await svc.api(`/api/stacks`)).json()) as { settingsError: string | null; head: string };
      return body.head === revision && body.settingsError ? body : undefined;
    });
    expect(info.settingsError).toMatch(/^stackd\.yaml: field (parallelism|stacks\.dev\.apply): .*the last good settings stay in force/);
    expect((await fetch(`${svc.url}/healthz`)).status).toBe(200);
    await settled(svc);
  });
});
