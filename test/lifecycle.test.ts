// A service that never wedges: time limits, cancel, retries that survive
// other runs, and a data dir that stays bounded. Real engine, real emulator;
// the sample's Pause resource stands in for a slow or hung cloud call.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Run } from "../src/ledger/index.ts";
import { dirSize } from "../src/support/index.ts";
import { cloud } from "./testkit/aws.ts";
import { startEmulator, type Emulator } from "./testkit/emulator.ts";
import { processesUnder } from "./testkit/processes.ts";
import { servedSampleRepo, settled, startService, waitFor, type TestService } from "./testkit/service.ts";


let emu: Emulator;
let aws: ReturnType<typeof cloud>;

beforeAll(async () => {
  emu = await startEmulator();
  aws = cloud(emu);
});

afterAll(async () => {
  await emu?.stop();
});

/** A served sample repo and a service on it, both stacks applied. */
async function applied(stackdYaml: string): Promise<{ served: Awaited<ReturnType<typeof servedSampleRepo>>; svc: TestService; dataDir: string }> {
  const served = await servedSampleRepo({ "stackd.yaml": stackdYaml });
  served.push();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "stackd-life-"));
  const svc = await startService({ repo: served.url, dataDir, env: emu.env });
  await waitFor("both stacks applied", async () => (await svc.controller.status()).filter((s) => s.sync === "Synced").length === 2, 240_000);
  await settled(svc);
  return { served, svc, dataDir };
}

const DEV = "stacks/Pulumi.dev.yaml";
const PROD = "stacks/Pulumi.prod.yaml";

/** dev's config with a Pause of `seconds` (changing `token` makes it pause again); undefined removes it. */
function pausing(served: Awaited<ReturnType<typeof servedSampleRepo>>, seconds: number | undefined, token = "1"): Record<string, string> {
  const base = served.repo.read(DEV).replace(/\n  sample-infra:pause(Seconds|Token):.*$/gm, "");
  return { [DEV]: seconds === undefined ? base : `${base.trimEnd()}\n  sample-infra:pauseSeconds: "${seconds}"\n  sample-infra:pauseToken: "${token}"\n` };
}

async function push(svc: TestService, served: Awaited<ReturnType<typeof servedSampleRepo>>, files: Record<string, string>, message: string): Promise<string> {
  served.repo.commit(files, message);
  const revision = served.push();
  expect((await svc.pushWebhook(revision)).status).toBe(202);
  return revision;
}

const runOf = (svc: TestService, stack: string, revision: string) => () => svc.runs(stack).find((r) => r.revision === revision && r.kind === "up");
const finished = (r: Run | undefined) => (r && !["queued", "running"].includes(r.status) ? r : undefined);

describe("time limits", () => {
  it("a hung up fails at its limit while the other stack applies, leaves no process, and the next commit applies cleanly", async () => {
    // The limit covers the preview an up makes first: the first apply, compiling in a new checkout, fits in it.
    const { served, svc, dataDir } = await applied("stacks:\n  dev:\n    timeouts: { up: 50s }\n");
    try {
      const revision = await push(
        svc,
        served,
        { ...pausing(served, 3600), [PROD]: served.repo.read(PROD).replace("dataClass: internal", "dataClass: meanwhile") },
        "dev hangs; prod changes",
      );
      const dev = await waitFor("dev to time out", () => finished(runOf(svc, "sample-infra/dev", revision)()), 120_000);
      const prod = await waitFor("prod to apply", () => finished(runOf(svc, "sample-infra/prod", revision)()), 120_000);
      expect([dev.status, dev.error]).toEqual(["failed", "timed out after 50s during up"]);
      // Not the hour it would hang: the limit, the interrupt's grace and the lock's clean-up (a figure, not a test).
      console.log(`hung up with a 50 s limit ended after ${((Date.parse(dev.finishedAt!) - Date.parse(dev.startedAt!)) / 1000).toFixed(1)} s`);
      expect(prod.status).toBe("succeeded");
      expect(Date.parse(prod.finishedAt!)).toBeLessThan(Date.parse(dev.finishedAt!));
      expect((await aws.bucketTags("stackd-sample-prod-data")).dataClass).toBe("meanwhile");
      await settled(svc);
      expect(processesUnder(dataDir)).toEqual([]);
      expect(fs.readdirSync(path.join(dataDir, "process-groups"))).toEqual([]);
      // The killed operation's engine event log went with it.
      const stale = fs.readdirSync(os.tmpdir()).filter((d) => d.startsWith("automation-logs-") && Date.now() - fs.statSync(path.join(os.tmpdir(), d)).mtimeMs > 60_000);
      expect(stale).toEqual([]);
      // A timeout is a failure like any other: the stack shows why and when it is tried again.
      const status = (await svc.controller.status()).find((s) => s.name === "sample-infra/dev")!;
      expect(status.conditions).toEqual(["Failing"]);
      expect(status.message).toBe(`Failing: timed out after 50s during up, retry 2 at ${status.retryAt}`);

      // The next change to dev (the pause gone, a tag changed) applies over the cleared stack.
      const next = await push(svc, served, { [DEV]: pausing(served, undefined)[DEV]!.replace("dataClass: internal", "dataClass: after-timeout") }, "no more pause");
      const clean = await waitFor("dev to apply", () => finished(runOf(svc, "sample-infra/dev", next)()), 120_000);
      expect([clean.status, clean.error]).toEqual(["succeeded", null]);
      expect((await aws.bucketTags("stackd-sample-dev-data")).dataClass).toBe("after-timeout");
    } finally {
      await svc.stop();
      await served.daemon.stop();
    }
  });
});

describe("time limits in stackd reconcile", () => {
  it("a hung up fails at its limit and the other stack applies", async () => {
    const { createSampleRepo } = await import("./testkit/sample-repo.ts");
    const { reconcile } = await import("../src/reconciler/index.ts");
    const repo = createSampleRepo();
    repo.commit({ "stackd.yaml": "timeouts: { up: 20s }\n", [DEV]: `${repo.read(DEV)}  sample-infra:pauseSeconds: "3600"\n` }, "dev hangs");
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "stackd-life-"));
    const report = await reconcile({ repo: repo.dir, dataDir, env: emu.env });
    expect(report.stacks.map((s) => [s.stack, s.status, s.error])).toEqual([
      ["dev", "failed", "timed out after 20s during up"],
      ["prod", "applied", null],
    ]);
    expect(processesUnder(dataDir)).toEqual([]);
  });
});

describe("cancel", () => {
  it("POST /api/runs/:id/cancel stops a running up the way Pulumi cancels; who asked is recorded", async () => {
    const { served, svc, dataDir } = await applied("");
    try {
      const seen = svc.logs.length;
      const revision = await push(svc, served, pausing(served, 3600, "cancel-me"), "a slow dev change");
      const running = await waitFor("dev to be applying", () => svc.logs.slice(seen).some((l) => l.includes("sample-infra/dev: applying")) && runOf(svc, "sample-infra/dev", revision)(), 180_000);
      const res = await svc.api(`/api/runs/${running.id}/cancel`, { method: "POST" });
      expect(res.status).toBe(202);
      const cancelled = await waitFor("the run to end", () => finished(svc.ledger.runs.get(running.id)), 60_000);
      expect([cancelled.status, cancelled.error]).toEqual(["cancelled", "cancelled by tester (stopped during up)"]);
      const again = await svc.api(`/api/runs/${running.id}/cancel`, { method: "POST" });
      expect([again.status, ((await again.json()) as { error: string }).error]).toEqual([409, `run ${running.id} is cancelled: there is nothing to cancel`]);
      await settled(svc);
      expect(processesUnder(dataDir)).toEqual([]);
      // The lock and the pending create were cleared: the next change applies.
      const next = await push(svc, served, { ...pausing(served, undefined), [DEV]: pausing(served, undefined)[DEV]!.replace("dataClass: internal", "dataClass: after-cancel") }, "next");
      const clean = await waitFor("dev to apply", () => finished(runOf(svc, "sample-infra/dev", next)()), 120_000);
      expect(clean.status).toBe("succeeded");
      expect((await aws.bucketTags("stackd-sample-dev-data")).dataClass).toBe("after-cancel");
    } finally {
      await svc.stop();
      await served.daemon.stop();
    }
  });
});

describe("retries", () => {
  it("a failed head keeps its retry while a drift remediation at the applied revision succeeds", async () => {
    const { served, svc } = await applied("stacks:\n  dev:\n    remediate: apply\n");
    try {
      const broken = await push(svc, served, { [DEV]: served.repo.read(DEV).replace('retentionSeconds: "345600"', 'retentionSeconds: "soon"') }, "a config the program rejects");
      const failed = await waitFor("dev to fail", () => finished(runOf(svc, "sample-infra/dev", broken)()), 120_000);
      expect(failed.status).toBe("failed");
      await settled(svc);
      const before = svc.ledger.stacks.get("sample-infra/dev")!;
      expect([before.failures, before.retryAt !== null]).toEqual([1, true]);

      // Drift at the applied revision is remediated by an up of that revision: it succeeds.
      await aws.tagBucket("stackd-sample-dev-data", { ...(await aws.bucketTags("stackd-sample-dev-data")), owner: "someone" });
      const check = (await (await svc.api(`/api/stacks/sample-infra/dev/drift`, { method: "POST" })).json()) as Run;
      const remediation = await waitFor("the remediation", () => finished(svc.runs("sample-infra/dev").find((r) => r.kind === "up" && r.trigger === "schedule")), 120_000);
      expect([remediation.status, remediation.revision === check.revision]).toEqual(["succeeded", true]);
      expect((await aws.bucketTags("stackd-sample-dev-data")).owner).toBe("platform-team");
      const after = svc.ledger.stacks.get("sample-infra/dev")!;
      expect([after.failures, after.retryAt]).toEqual([1, before.retryAt]);
      const status = (await svc.controller.status()).find((s) => s.name === "sample-infra/dev")!;
      expect([status.sync, status.conditions]).toEqual(["OutOfSync", ["Failing"]]);
      expect(status.reason).toBe(failed.error);
    } finally {
      await svc.stop();
      await served.daemon.stop();
    }
  });
});

describe("bounded disk", () => {
  it("300 commits leave a bounded number of worktrees; unknown stacks answer 404 without a fetch", async () => {
    const { served, svc, dataDir } = await applied("");
    try {
      const worktrees = () => fs.readdirSync(path.join(dataDir, "worktrees")).flatMap((k) => fs.readdirSync(path.join(dataDir, "worktrees", k)));
      for (let i = 1; i <= 300; i++) {
        served.repo.commit({ "NOTES.md": `note ${i}\n` }, `note ${i}`);
        const revision = served.push();
        await svc.controller.sync("webhook");
        expect(svc.controller.info().head).toBe(revision);
      }
      await waitFor("worktree pruning", () => worktrees().length <= 7);
      const count = worktrees().length;
      expect(count).toBeLessThanOrEqual(7);
      // 1 000 requests for a stack that does not exist: 404 each, not one fetch, not one ledger row.
      const head = svc.controller.info().head;
      const ledgerBytes = () => ["ledger.db", "ledger.db-wal"].reduce((n, f) => n + (fs.existsSync(path.join(dataDir, f)) ? fs.statSync(path.join(dataDir, f)).size : 0), 0);
      const runsBefore = svc.runs().length;
      const before = ledgerBytes();
      const started = Date.now();
      for (let i = 0; i < 1000; i++) {
        const res = await svc.api(`/api/stacks/nope/reconcile`, { method: "POST" });
        expect(res.status).toBe(404);
        await res.arrayBuffer();
        await (await svc.api(`/api/stacks`)).arrayBuffer();
      }
      expect([svc.runs().length, ledgerBytes()]).toEqual([runsBefore, before]);
      console.log(
        `after 300 commits: ${count} worktrees, data dir ${(dirSize(dataDir) / 1024 / 1024).toFixed(1)} MiB, rss ${(process.memoryUsage().rss / 1024 / 1024).toFixed(0)} MiB; 1000 unknown-stack requests took ${Date.now() - started} ms`,
      );
      expect(svc.controller.info().head).toBe(head);
      const gc = (await (await svc.api(`/api/gc`, { method: "POST" })).json()) as { worktrees: number };
      expect(typeof gc.worktrees).toBe("number");
    } finally {
      await svc.stop();
      await served.daemon.stop();
    }
  }, 900_000);
});
