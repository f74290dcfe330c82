import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { PutBucketTaggingCommand } from "@aws-sdk/client-s3";
import { DeleteQueueCommand, GetQueueUrlCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DriftRecord } from "../src/ledger/index.ts";
import { freePort, startEmulator, type Emulator } from "./testkit/emulator.ts";
import { cloud } from "./testkit/aws.ts";
import { startReceiver, type Receiver } from "./testkit/receiver.ts";
import { servedSampleRepo, settled, startService, waitFor, type TestService } from "./testkit/service.ts";

let emu: Emulator;
let aws: ReturnType<typeof cloud>;
let served: Awaited<ReturnType<typeof servedSampleRepo>>;
let svc: TestService;
let receiver: Receiver;
let downUrl: string;

function settings(prodDrift: string): string {
  return [
    "notifications:",
    `  - ${receiver.url}`,
    `  - ${downUrl}`,
    "stacks:",
    '  "*":',
    '    drift: "off"',
    "  dev:",
    "    remediate: apply",
    "  prod:",
    `    drift: "${prodDrift}"`,
    "",
  ].join("\n");
}

/** What somebody does by hand in the console: a tag changed, the queue deleted. */
async function tamper(stack: string) {
  const tags = await aws.bucketTags(`stackd-sample-${stack}-data`);
  const TagSet = Object.entries({ ...tags, owner: "someone-else" }).map(([Key, Value]) => ({ Key, Value }));
  await aws.s3.send(new PutBucketTaggingCommand({ Bucket: `stackd-sample-${stack}-data`, Tagging: { TagSet } }));
  const { QueueUrl } = await aws.sqs.send(new GetQueueUrlCommand({ QueueName: `stackd-sample-${stack}-jobs` }));
  await aws.sqs.send(new DeleteQueueCommand({ QueueUrl }));
}

const openDrift = (stack: string) => svc.ledger.drift.list({ stack, status: "open" })[0];
const events = (event: string, stack: string) => receiver.bodies.filter((b) => b.event === event && b.stack === stack);

beforeAll(async () => {
  emu = await startEmulator();
  aws = cloud(emu);
  receiver = await startReceiver();
  downUrl = `http://127.0.0.1:${await freePort()}/down`;
  served = await servedSampleRepo({ "stackd.yaml": settings("off") });
  served.push();
  svc = await startService({ repo: served.url, dataDir: fs.mkdtempSync(path.join(os.tmpdir(), "stackd-drift-")), env: emu.env });
  await waitFor("initial runs", () => svc.runs().length === 2);
  await settled(svc);
});

afterAll(async () => {
  await svc?.stop();
  await receiver?.stop();
  await served?.daemon.stop();
  await emu?.stop();
});

describe("scheduled drift detection", () => {
  let record: DriftRecord;

  it("reports exactly what changed out of band, with declared and actual values, and alerts once", async () => {
    await tamper("prod");
    served.repo.commit({ "stackd.yaml": settings("*/3 * * * * *") }, "check prod every 3 seconds");
    await svc.pushWebhook(served.push());
    record = await waitFor("prod drift", () => openDrift("sample-infra/prod"), 120_000);
    const byType = Object.fromEntries(record.resources.map((r) => [r.type.split(":").pop(), r]));
    expect(Object.keys(byType).sort()).toEqual(["Bucket", "Queue"]);
    expect(byType.Bucket).toMatchObject({ op: "drift", properties: ["tags.owner"], drift: [{ path: "tags.owner", declared: "platform-team", actual: "someone-else" }] });
    expect(byType.Queue).toMatchObject({ op: "deleted", properties: [] });
    const check = svc.ledger.runs.get(record.runId)!;
    expect(check).toMatchObject({ kind: "refresh", trigger: "schedule", status: "succeeded" });

    const alert = await waitFor("drift.detected notification", () => events("drift.detected", "sample-infra/prod")[0]);
    expect(alert).toMatchObject({ runId: record.runId, driftId: record.id, summary: "drift: 1 changed, 1 deleted out of band" });
    expect(JSON.stringify(alert.resources)).toContain('"declared":"platform-team","actual":"someone-else"');
    // The cloud was only read.
    expect((await aws.bucketTags("stackd-sample-prod-data")).owner).toBe("someone-else");
  });

  it("the next tick sees the same drift: one open record, seen again, no second alert", async () => {
    const again = await waitFor("a second check", () => {
      const r = openDrift("sample-infra/prod");
      return r && r.timesSeen >= 2 ? r : undefined;
    });
    expect(again.id).toBe(record.id);
    expect(again.firstSeen).toBe(record.firstSeen);
    expect(events("drift.detected", "sample-infra/prod")).toHaveLength(1);
    const api = (await (await svc.api(`/api/stacks/sample-infra/prod/drift`)).json()) as { health: string; episodes: DriftRecord[] };
    expect(api.health).toBe("Drifted");
    expect(api.episodes.map((e) => e.id)).toEqual([record.id]);
    const all = (await (await svc.api(`/api/drift`)).json()) as { open: DriftRecord[] };
    expect(all.open.map((d) => d.stack)).toEqual(["sample-infra/prod"]);
  });

  it("remediate: apply restores the changed tag and the deleted queue, and the drift resolves", async () => {
    await tamper("dev");
    const res = await svc.api(`/api/stacks/sample-infra/dev/drift`, { method: "POST" });
    expect(res.status).toBe(202);
    const detected = await waitFor("dev drift", () => openDrift("sample-infra/dev"));
    expect(detected.resources.map((r) => r.op).sort()).toEqual(["deleted", "drift"]);
    const fix = await waitFor("remediation", () =>
      svc.runs("sample-infra/dev").find((r) => r.kind === "up" && r.trigger === "schedule" && r.status === "succeeded"),
    );
    expect(fix.changes).toMatchObject({ create: 1, update: 1 });
    expect((await aws.bucketTags("stackd-sample-dev-data")).owner).toBe("platform-team");
    expect(await aws.queueRetention("stackd-sample-dev-jobs")).toBe(345600);

    await svc.api(`/api/stacks/sample-infra/dev/drift`, { method: "POST" });
    await waitFor("drift resolved", () => svc.ledger.drift.get(detected.id)?.status === "closed");
    const resolved = await waitFor("drift.resolved notification", () => events("drift.resolved", "sample-infra/dev")[0]);
    expect(resolved).toMatchObject({ driftId: detected.id });
    expect((await svc.controller.status()).find((s) => s.name === "sample-infra/dev")!.health).toBe("InSync");
  });

  it("a receiver that is down is retried, logged, and blocks nothing", async () => {
    await waitFor("the failed delivery to be logged", () => svc.logs.find((l) => l.includes("notification not delivered") && l.includes("/down")), 60_000);
    // Everything above completed while that receiver refused every attempt.
    expect(events("drift.detected", "sample-infra/dev")).toHaveLength(1);
  });
});
