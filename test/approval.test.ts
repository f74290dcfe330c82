import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { PutParameterCommand } from "@aws-sdk/client-ssm";
import { loadToolchain, resolveBackend } from "../src/pulumi/index.ts";
import { startEmulator, type Emulator } from "./testkit/emulator.ts";
import { cloud } from "./testkit/aws.ts";
import { servedSampleRepo, settled, startService, waitFor, type TestService } from "./testkit/service.ts";

// prod adopts drift: taking the cloud's values into the state is how its state can move on without an approval.
const STACKD_YAML = `stacks:\n  "*/prod":\n    apply: manual\n    remediate: adopt\n`;

let emu: Emulator;
let served: Awaited<ReturnType<typeof servedSampleRepo>>;
let svc: TestService;
let aws: ReturnType<typeof cloud>;
let dataDir: string;

/** The pulumi CLI as a person runs it by hand against the service's backend. */
async function pulumiCli(args: string[]): Promise<void> {
  const tc = await loadToolchain();
  const backend = resolveBackend(dataDir);
  await promisify(execFile)(path.join(tc.binDir, "pulumi"), [...args, "--non-interactive"], {
    env: { ...process.env, PULUMI_BACKEND_URL: backend.backendUrl, PULUMI_CONFIG_PASSPHRASE: backend.passphrase, PULUMI_HOME: backend.pulumiHome, PULUMI_SKIP_UPDATE_CHECK: "true" },
  });
}

const approve = (runId: string, token?: string | null) => svc.api(`/api/approvals/${runId}`, { method: "POST", token });

function awaiting() {
  return svc.runs("sample-infra/prod").find((r) => r.status === "awaiting_approval");
}

beforeAll(async () => {
  emu = await startEmulator();
  aws = cloud(emu);
  served = await servedSampleRepo({ "stackd.yaml": STACKD_YAML });
  served.push();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "stackd-approve-"));
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
    const prod = (await svc.controller.status()).find((s) => s.name === "sample-infra/prod")!;
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
    await waitFor("approved up", () => svc.ledger.runs.get(up.id)?.status === "succeeded");
    expect(svc.ledger.runs.get(preview.id)!.status).toBe("approved");
    // The approving token's name is on the approval and on the up it started.
    expect([svc.ledger.runs.get(preview.id)!.approvedBy, svc.ledger.runs.get(up.id)!.requestedBy]).toEqual(["tester", "tester"]);
    expect(await aws.bucketExists("stackd-sample-prod-data")).toBe(true);
    expect((await svc.controller.status()).find((s) => s.name === "sample-infra/prod")!.sync).toBe("Synced");
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
    expect(svc.ledger.runs.get(preview.id)!.status).toBe("superseded");
    expect((await approve(newest.id)).status).toBe(202);
    await waitFor("second change applied", async () => (await aws.bucketTags("stackd-sample-prod-data")).dataClass === "second");
  });

  it("an approval after the state changed outside stackd applies nothing and queues a new preview", async () => {
    const prodFile = "stacks/Pulumi.prod.yaml";
    served.repo.commit({ [prodFile]: served.repo.read(prodFile).replace("dataClass: second", "dataClass: third") }, "prod third");
    const third = served.push();
    await svc.pushWebhook(third);
    const preview = await waitFor("preview of the third change", () => {
      const r = awaiting();
      return r?.revision === third ? r : undefined;
    });
    expect(preview.planDigest).toMatch(/^[0-9a-f]{64}$/);
    // Someone changes the state with the pulumi CLI on the same backend: the bucket's recorded owner tag.
    await pulumiCli(["stack", "export", "--stack", "organization/sample-infra/prod", "--file", path.join(dataDir, "export.json")]);
    const state = JSON.parse(fs.readFileSync(path.join(dataDir, "export.json"), "utf8")) as { deployment: { resources: { urn: string; outputs?: { tags?: Record<string, string> } }[] } };
    state.deployment.resources.find((r) => r.urn.endsWith("::data"))!.outputs!.tags!.owner = "someone-else";
    fs.writeFileSync(path.join(dataDir, "export.json"), JSON.stringify(state));
    await pulumiCli(["stack", "import", "--stack", "organization/sample-infra/prod", "--file", path.join(dataDir, "export.json")]);

    const res = await approve(preview.id);
    expect(res.status).toBe(202);
    const up = (await res.json()) as { id: string; approvedPlan: string };
    expect(up.approvedPlan).toBe(preview.planDigest);
    const failed = await waitFor("the approved up to end", () => {
      const r = svc.ledger.runs.get(up.id)!;
      return r.status === "failed" ? r : undefined;
    });
    expect(failed.error).toMatch(/^the plan no longer holds: the stack's state changed since the preview \(checkpoint [0-9a-f]{12} -> [0-9a-f]{12}\); a new preview is queued$/);
    expect((await aws.bucketTags("stackd-sample-prod-data")).dataClass).toBe("second");
    const again = await waitFor("a new preview awaiting approval", () => {
      const r = awaiting();
      return r && r.id !== preview.id && r.trigger === "retry" ? r : undefined;
    });
    expect([again.revision, again.planDigest === preview.planDigest]).toEqual([third, false]);
  });

  it("an approval after an input the program reads changed in the cloud applies nothing; an unchanged one applies exactly its plan", async () => {
    // The program reads the bucket's `lookedUp` tag from an SSM parameter, not from git.
    await aws.ssm.send(new PutParameterCommand({ Name: "/team/lookup", Value: "blue", Type: "String", Overwrite: true }));
    const prodFile = "stacks/Pulumi.prod.yaml";
    served.repo.commit({ [prodFile]: `${served.repo.read(prodFile)}  sample-infra:lookupTag: /team/lookup\n` }, "prod looks its tag up");
    const head = served.push();
    await svc.pushWebhook(head);
    // The open preview (the one the state change queued) is superseded by this commit's.
    const preview = await waitFor("preview of the lookup", () => {
      const r = awaiting();
      return r?.revision === head ? r : undefined;
    });
    expect(preview.resources!.filter((r) => r.op === "update").map((r) => r.properties)).toEqual([["tags.dataClass", "tags.lookedUp"]]);

    await aws.ssm.send(new PutParameterCommand({ Name: "/team/lookup", Value: "green", Type: "String", Overwrite: true }));
    const res = await approve(preview.id);
    expect(res.status).toBe(202);
    const up = (await res.json()) as { id: string };
    const failed = await waitFor("the approved up to end", () => {
      const r = svc.ledger.runs.get(up.id)!;
      return r.status === "failed" ? r : undefined;
    });
    expect(failed.error).toBe("the plan no longer holds: data: tags.lookedUp changed; a new preview is queued");
    expect(await aws.bucketTags("stackd-sample-prod-data")).not.toHaveProperty("lookedUp");

    const again = await waitFor("a new preview of the new value", () => {
      const r = awaiting();
      return r && r.id !== preview.id && r.trigger === "retry" ? r : undefined;
    });
    const ok = (await (await approve(again.id)).json()) as { id: string };
    const applied = await waitFor("the approved up", () => {
      const r = svc.ledger.runs.get(ok.id)!;
      return r.status === "succeeded" || r.status === "failed" ? r : undefined;
    });
    expect([applied.status, applied.error]).toEqual(["succeeded", null]);
    // What was applied is the plan that was approved: the ledger holds the same digest on both.
    expect(applied.planDigest).toBe(svc.ledger.runs.get(again.id)!.planDigest);
    expect(await aws.bucketTags("stackd-sample-prod-data")).toMatchObject({ lookedUp: "green", dataClass: "third" });
  });
});
