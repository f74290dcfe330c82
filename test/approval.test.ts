import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type Emulator } from "./testkit/emulator.ts";
import { cloud } from "./testkit/aws.ts";
import { servedSampleRepo, settled, startService, waitFor, type TestService } from "./testkit/service.ts";

// prod adopts drift: taking the cloud's values into the state is how its state can move on without an approval.
const STACKD_YAML = `stacks:\n  "*/prod":\n    apply: manual\n    remediate: adopt\n`;

let emu: Emulator;
let served: Awaited<ReturnType<typeof servedSampleRepo>>;
let svc: TestService;
let aws: ReturnType<typeof cloud>;

const approve = (runId: string, token?: string | null) => svc.api(`/api/approvals/${runId}`, { method: "POST", token });

function awaiting() {
  return svc.runs("sample-infra/prod").find((r) => r.status === "awaiting_approval");
}

beforeAll(async () => {
  emu = await startEmulator();
  aws = cloud(emu);
  served = await servedSampleRepo({ "stackd.yaml": STACKD_YAML });
  served.push();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "stackd-approve-"));
  svc = await startService({ repo: served.url, dataDir, env: emu.env });
});

afterAll(async () => {
  await svc?.stop();
  await served?.daemon.stop();
  await emu?.stop();
});

describe("manual apply mode", () => {
  it("previews a manual stack and waits; auto stacks apply", async () => {
    const preview = await waitFor("prod preview", awaiting);
    await settled(svc);
    expect(preview.kind).toBe("preview");
    expect(preview.changes).toEqual({ create: 3, update: 0, replace: 0, delete: 0, same: 0 });
    expect(await aws.bucketExists("stackd-sample-prod-data")).toBe(false);
    expect(await aws.bucketExists("stackd-sample-dev-data")).toBe(true);
    const prod = svc.controller.status().find((s) => s.name === "sample-infra/prod")!;
    expect(prod.conditions).toEqual(["AwaitingApproval"]);
    expect(prod.sync).toBe("OutOfSync");
  });

  it("approval needs the API token, then applies exactly the previewed revision", async () => {
    const preview = awaiting()!;
    expect((await approve(preview.id, null)).status).toBe(401);
    const res = await approve(preview.id);
    expect(res.status).toBe(202);
    const up = (await res.json()) as { id: string; kind: string; revision: string; approvalOf: string };
    expect(up).toMatchObject({ kind: "up", revision: preview.revision, approvalOf: preview.id });
    await waitFor("approved up", () => svc.controller.ledger.runs.get(up.id)?.status === "succeeded");
    expect(svc.controller.ledger.runs.get(preview.id)!.status).toBe("approved");
    // The approving token's name is on the approval and on the up it started.
    expect([svc.controller.ledger.runs.get(preview.id)!.approvedBy, svc.controller.ledger.runs.get(up.id)!.requestedBy]).toEqual(["tester", "tester"]);
    expect(await aws.bucketExists("stackd-sample-prod-data")).toBe(true);
    expect(svc.controller.status().find((s) => s.name === "sample-infra/prod")!.sync).toBe("Synced");
    expect((await approve(preview.id)).status).toBe(409);
  });

  it("refuses an approval once a newer commit arrived, and nothing is applied", async () => {
    const prodFile = "stacks/Pulumi.prod.yaml";
    served.repo.commit({ [prodFile]: served.repo.read(prodFile).replace("dataClass: internal", "dataClass: first") }, "prod first");
    const first = served.push();
    expect((await svc.pushWebhook(first)).status).toBe(202);
    const preview = await waitFor("preview of the first change", () => {
      const r = awaiting();
      return r?.revision === first ? r : undefined;
    });
    expect(preview.resources!.filter((r) => r.op === "update").map((r) => r.properties)).toEqual([["tags.dataClass"]]);

    served.repo.commit({ [prodFile]: served.repo.read(prodFile).replace("dataClass: first", "dataClass: second") }, "prod second");
    const second = served.push();
    const res = await approve(preview.id);
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: string }).error).toBe(
      `a newer commit ${second.slice(0, 12)} arrived after this preview of ${first.slice(0, 12)}; approve its preview instead`,
    );
    await settled(svc);
    expect((await aws.bucketTags("stackd-sample-prod-data")).dataClass).toBe("internal");
    const newest = await waitFor("preview of the second change", () => {
      const r = awaiting();
      return r?.revision === second ? r : undefined;
    });
    expect(svc.controller.ledger.runs.get(preview.id)!.status).toBe("superseded");
    expect((await approve(newest.id)).status).toBe(202);
    await waitFor("second change applied", async () => (await aws.bucketTags("stackd-sample-prod-data")).dataClass === "second");
  });

  it("refuses an approval when the stack's state changed since the preview", async () => {
    const prodFile = "stacks/Pulumi.prod.yaml";
    served.repo.commit({ [prodFile]: served.repo.read(prodFile).replace("dataClass: second", "dataClass: third") }, "prod third");
    const third = served.push();
    await svc.pushWebhook(third);
    const preview = await waitFor("preview of the third change", () => {
      const r = awaiting();
      return r?.revision === third ? r : undefined;
    });
    // Someone tags the bucket by hand; a drift check finds it and prod adopts the cloud's value, which moves its state on.
    await aws.tagBucket("stackd-sample-prod-data", { ...(await aws.bucketTags("stackd-sample-prod-data")), owner: "someone-else" });
    const check = (await (await svc.api(`/api/stacks/sample-infra/prod/drift`, { method: "POST" })).json()) as { id: string };
    const adopted = await waitFor("the adopt run", () => svc.runs("sample-infra/prod").find((r) => r.kind === "refresh" && r.id !== check.id && r.status === "succeeded"));
    expect([svc.controller.ledger.runs.get(check.id)!.status, adopted.trigger]).toEqual(["succeeded", "schedule"]);
    const res = await approve(preview.id);
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: string }).error).toBe(
      `the state of sample-infra/prod changed since this preview (version ${preview.stateVersion} -> ${preview.stateVersion! + 1}); reconcile again`,
    );
  });
});
