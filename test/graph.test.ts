// The stack graph with the real engine and emulator: network/dev exports an endpoint that
// app/dev reads through a StackReference; both run the sample program (infra/).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { GetParameterCommand } from "@aws-sdk/client-ssm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GraphView } from "../src/graph/index.ts";
import type { Run, StackStatus } from "../src/ledger/index.ts";
import { cloud } from "./testkit/aws.ts";
import { runStackd } from "./testkit/cli.ts";
import { startEmulator, type Emulator } from "./testkit/emulator.ts";
import { endpointConfig, layerFiles } from "./testkit/layers.ts";
import { ADMIN_TOKEN, servedSampleRepo, settled, startService, waitFor, type TestService } from "./testkit/service.ts";

const networkConfig = (endpoint: string, owner = "platform-team") => endpointConfig("network", endpoint, owner);

let emu: Emulator;
let served: Awaited<ReturnType<typeof servedSampleRepo>>;
let svc: TestService;
let dataDir: string;
let aws: ReturnType<typeof cloud>;

const upstreamValue = async () =>
  (await aws.ssm.send(new GetParameterCommand({ Name: "/layer-app/dev/upstream-endpoint" }))).Parameter?.Value;
const graph = async () => (await (await svc.api("/api/graph")).json()) as GraphView;
const ok = (r: Run) => r.status === "succeeded";
const stackStatus = async (name: string) => (await (await svc.api(`/api/stacks/${name}`)).json()) as StackStatus & { error?: string };
const admin = { STACKD_API_TOKEN: ADMIN_TOKEN };
/** Where the service's file backend keeps a stack's state. */
const stateFile = (project: string, stack: string) => path.join(dataDir, "state", ".pulumi", "stacks", project, `${stack}.json`);

/** Commits, pushes and tells the service; returns the new head. */
async function change(files: Record<string, string>, message: string): Promise<string> {
  served.repo.commit(files, message);
  const head = served.push();
  expect((await svc.pushWebhook(head)).status).toBe(202);
  await waitFor("the new head's runs", () => svc.runs().some((r) => r.revision === head));
  await settled(svc, 300_000);
  return head;
}

beforeAll(async () => {
  emu = await startEmulator();
  aws = cloud(emu);
  served = await servedSampleRepo({
    ...layerFiles(["network", "app"], "vpc-1"),
    "stackd.yaml": 'stacks:\n  "*":\n    drift: "off"\n',
  });
  // Only the two layers: the sample's own stacks leave.
  served.repo.git("rm", "-q", "stacks/Pulumi.dev.yaml", "stacks/Pulumi.prod.yaml");
  served.repo.git("commit", "-q", "-m", "layers only");
  served.push();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "stackd-graph-"));
  svc = await startService({ repo: served.url, dataDir, env: emu.env });
});

afterAll(async () => {
  await svc?.stop();
  await served?.daemon.stop();
  await emu?.stop();
});

describe("the stack graph", () => {
  it("learns from the first pass that app reads network, and converges by running network first", async () => {
    await waitFor("both layers applied", () => svc.runs("app/dev").some(ok) && svc.runs("network/dev").some(ok), 300_000);
    await settled(svc, 300_000);
    const g = await graph();
    expect(g.edges).toEqual([expect.objectContaining({ stack: "app/dev", dependsOn: "network/dev", origins: ["inferred"], reference: "organization/network/dev" })]);
    expect(g.order).toEqual(["network/dev", "app/dev"]);
    expect(await upstreamValue()).toBe("vpc-1");
    const [app] = svc.runs("app/dev");
    const [network] = svc.runs("network/dev");
    expect(app!.status).toBe("succeeded");
    // Whatever ran first, the app's last run started after network's up ended.
    expect(Date.parse(app!.startedAt!)).toBeGreaterThanOrEqual(Date.parse(network!.finishedAt!));
    console.log(`first pass: app/dev ${svc.runs("app/dev").map((r) => `${r.trigger}:${r.status}`).join(", ")}; network/dev ${svc.runs("network/dev").map((r) => r.status).join(", ")}`);
  });

  it("a change of network's outputs re-applies app after it, in the same pass, though no file of app changed", async () => {
    const head = await change({ "network/Pulumi.dev.yaml": networkConfig("vpc-2") }, "network: endpoint vpc-2");
    const network = svc.runs("network/dev").find((r) => r.revision === head)!;
    expect(network.status).toBe("succeeded");
    const app = svc.runs("app/dev")[0]!;
    expect(app).toMatchObject({ trigger: "cascade", cascadeOf: network.id, status: "succeeded", revision: head });
    expect(Date.parse(app.startedAt!)).toBeGreaterThanOrEqual(Date.parse(network.finishedAt!));
    expect(await upstreamValue()).toBe("vpc-2");
    const cascade = (await graph()).lastCascade!;
    expect(cascade.root.run).toBe(network.id);
    expect(cascade.runs.map((r) => r.stack)).toEqual(["network/dev", "app/dev"]);
    console.log(`cascade network -> app: ${cascade.seconds} s, the runs alone ${cascade.sumOfRuns.toFixed(1)} s`);
  });

  it("a change of network that leaves its outputs as they were does not run app", async () => {
    const appRuns = svc.runs("app/dev").length;
    const head = await change({ "network/Pulumi.dev.yaml": networkConfig("vpc-2", "network-team") }, "network: owner tag");
    const network = svc.runs("network/dev").find((r) => r.revision === head)!;
    expect(network.status).toBe("succeeded");
    expect(network.changes!.update).toBeGreaterThan(0);
    expect(await aws.bucketTags("layer-network-dev-data")).toMatchObject({ owner: "network-team" });
    expect(svc.runs("app/dev").length).toBe(appRuns);
  });

  it("stackd graph shows the edge with its origin, as text, dot and JSON", async () => {
    const env = { STACKD_API_TOKEN: ADMIN_TOKEN };
    const text = await runStackd(["graph", "--api", svc.url], env);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('app/dev -> network/dev  inferred from StackReference "organization/network/dev"');
    const dot = await runStackd(["graph", "--api", svc.url, "--format", "dot"], env);
    expect(dot.stdout).toContain('"network/dev" -> "app/dev" [style=dashed, label="inferred"]');
    const json = JSON.parse((await runStackd(["graph", "--api", svc.url, "--format", "json"], env)).stdout) as GraphView;
    expect(json.order).toEqual(["network/dev", "app/dev"]);
    expect((await svc.api("/api/graph", { token: null })).status).toBe(401);
  });

  it("a declared dependency that closes a cycle with an inferred one fails both stacks, naming them, without running", async () => {
    const head = await change({ "stackd.yaml": 'stacks:\n  "*":\n    drift: "off"\n  network/dev:\n    dependsOn: [app/dev]\n' }, "network depends on app");
    const failed = [svc.runs("network/dev")[0]!, svc.runs("app/dev")[0]!];
    for (const r of failed) {
      expect(r).toMatchObject({ revision: head, status: "failed", startedAt: null });
      expect(r.error).toContain("dependency cycle: app/dev -> network/dev -> app/dev");
      expect(r.error).toContain('app/dev reads network/dev through StackReference "organization/network/dev"');
      expect(r.error).toContain("network/dev dependsOn app/dev in stackd.yaml");
    }
    expect((await graph()).cycles).toEqual([["app/dev", "network/dev", "app/dev"]]);
    const text = await runStackd(["graph", "--api", svc.url], { STACKD_API_TOKEN: ADMIN_TOKEN });
    expect(text.code).toBe(1);
    expect(text.stdout).toContain("Cycle: app/dev -> network/dev -> app/dev");
  });

  it("rollback to the first revision restores the old value and pins network; a commit that does not affect it keeps the pin; unpin resumes", async () => {
    // Back to the settings both stacks were applied with: nothing to run, both at the new head.
    served.repo.commit({ "stackd.yaml": 'stacks:\n  "*":\n    drift: "off"\n' }, "no declared dependency");
    const head = served.push();
    expect((await svc.pushWebhook(head)).status).toBe(202);
    for (const name of ["network/dev", "app/dev"]) await waitFor(`${name} at the head`, async () => (await stackStatus(name)).appliedRevision === head);
    expect(await upstreamValue()).toBe("vpc-2");
    const first = svc.runs("network/dev").filter((r) => r.kind === "up" && ok(r)).at(-1)!.revision;
    const refused = await runStackd(["rollback", "network/dev", "--to", "deadbeef", "--api", svc.url], admin);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`network/dev was never applied at deadbeef: it can be rolled back to a revision it was applied at (newest first: `);
    expect(refused.stderr).toContain(first.slice(0, 12));

    const rolled = await runStackd(["rollback", "network/dev", "--to", first.slice(0, 8), "--api", svc.url], admin);
    expect(rolled.code, rolled.stderr).toBe(0);
    expect(rolled.stdout).toContain(`rolling network/dev back to ${first.slice(0, 12)}`);
    await waitFor("the rollback", () => svc.runs("network/dev")[0]!.trigger === "rollback");
    await settled(svc, 300_000);
    const rollback = svc.runs("network/dev")[0]!;
    expect(rollback).toMatchObject({ trigger: "rollback", revision: first, status: "succeeded", requestedBy: "tester" });
    expect(await aws.bucketTags("layer-network-dev-data")).toMatchObject({ owner: "platform-team" });
    // The old endpoint reaches app through the cascade.
    expect(svc.runs("app/dev")[0]).toMatchObject({ trigger: "cascade", cascadeOf: rollback.id, status: "succeeded" });
    expect(await upstreamValue()).toBe("vpc-1");
    const pinned = await stackStatus("network/dev");
    expect(pinned.conditions).toContain("Pinned");
    expect(pinned.message).toBe(`Pinned: rolled back to ${first.slice(0, 12)} by tester`);
    expect(pinned.appliedRevision).toBe(first);

    // A commit to app alone: network stays where the rollback put it.
    const appOnly = await change({ "app/Pulumi.dev.yaml": "config:\n  app:upstream: organization/network/dev\n  app:owner: app-team\n" }, "app: owner tag");
    expect(svc.runs("app/dev").find((r) => r.revision === appOnly)?.status).toBe("succeeded");
    expect(svc.runs("network/dev").some((r) => r.revision === appOnly)).toBe(false);
    expect((await stackStatus("network/dev")).conditions).toContain("Pinned");
    expect(await aws.bucketTags("layer-network-dev-data")).toMatchObject({ owner: "platform-team" });

    const unpinned = await runStackd(["unpin", "network/dev", "--api", svc.url], admin);
    expect(unpinned.code, unpinned.stderr).toBe(0);
    expect(unpinned.stdout).toContain(`unpinned network/dev: it follows the branch again; reconciling at ${appOnly.slice(0, 12)}`);
    await waitFor("network at the head", () => svc.runs("network/dev")[0]!.revision === appOnly);
    await settled(svc, 300_000);
    expect(svc.runs("network/dev")[0]).toMatchObject({ revision: appOnly, status: "succeeded", trigger: "api" });
    expect(await aws.bucketTags("layer-network-dev-data")).toMatchObject({ owner: "network-team" });
    expect(await upstreamValue()).toBe("vpc-2");
    const following = await stackStatus("network/dev");
    expect(following.conditions).toEqual(["Ready"]);
    expect(following.sync).toBe("Synced");
    expect((await runStackd(["unpin", "network/dev", "--api", svc.url], admin)).stderr).toContain("network/dev is not pinned: it follows the branch");
  });

  it("a removed stack file without prune leaves the stack Orphaned with its resources; with prune they are destroyed and the stack removed", async () => {
    expect(fs.existsSync(stateFile("app", "dev"))).toBe(true);
    const held = (await stackStatus("app/dev")).name;
    expect(held).toBe("app/dev");
    served.repo.git("rm", "-q", "app/Pulumi.dev.yaml");
    served.repo.git("commit", "-q", "-m", "app/dev leaves");
    const gone = served.push();
    expect((await svc.pushWebhook(gone)).status).toBe(202);
    const orphaned = await waitFor("app/dev orphaned", async () => {
      const s = await stackStatus("app/dev");
      return s.conditions.includes("Orphaned") && s;
    });
    await settled(svc, 300_000);
    expect(orphaned.message).toMatch(/^Orphaned: Pulumi\.dev\.yaml left the branch at \S+; (\d+) resource\(s\) remain \(prune: true destroys them\)$/);
    const count = Number(/; (\d+) resource/.exec(orphaned.message!)![1]);
    expect(count).toBeGreaterThanOrEqual(4);
    expect(svc.runs("app/dev").some((r) => r.revision === gone)).toBe(false);
    expect(await aws.bucketExists("layer-app-dev-data")).toBe(true);
    expect(await upstreamValue()).toBe("vpc-2");

    const pruning = await change({ "stackd.yaml": 'stacks:\n  "*":\n    drift: "off"\n  app/*:\n    prune: true\n' }, "prune app stacks");
    const destroy = svc.runs("app/dev")[0]!;
    expect(destroy, destroy.error ?? "").toMatchObject({ kind: "destroy", trigger: "prune", status: "succeeded" });
    // The bucket, the queue and the two parameters at least (the StackReference is read, not held).
    expect(destroy.changes!.delete).toBeGreaterThanOrEqual(4);
    // Destroyed from the program at the revision last applied, not the head (which no longer has it).
    expect(destroy.revision).not.toBe(pruning);
    expect(await aws.bucketExists("layer-app-dev-data")).toBe(false);
    expect(await upstreamValue().catch((err: Error) => err.name)).toBe("ParameterNotFound");
    expect(fs.existsSync(stateFile("app", "dev"))).toBe(false);
    expect((await svc.api("/api/stacks/app/dev")).status).toBe(404);
    const stacks = (await (await svc.api("/api/stacks")).json()) as { stacks: StackStatus[] };
    expect(stacks.stacks.map((s) => s.name)).toEqual(["network/dev"]);
    // Its runs stay in the ledger.
    expect((await (await svc.api("/api/runs?stack=app/dev")).json()).runs.length).toBeGreaterThan(3);
  });

  it("a manual stack's prune is previewed and destroys only once approved", async () => {
    served.repo.git("rm", "-q", "network/Pulumi.dev.yaml");
    served.repo.commit({ "stackd.yaml": 'stacks:\n  "*":\n    drift: "off"\n    prune: true\n  network/*:\n    apply: manual\n' }, "network/dev leaves; manual prune");
    const head = served.push();
    expect((await svc.pushWebhook(head)).status).toBe(202);
    const preview = await waitFor("the prune's preview", () => svc.runs("network/dev").find((r) => r.trigger === "prune" && r.status === "awaiting_approval"), 300_000);
    expect(preview.kind).toBe("preview");
    expect(preview.changes!.delete).toBeGreaterThanOrEqual(3);
    expect(preview.checkpoint).toMatch(/^[0-9a-f]{64}$/);
    expect(await aws.bucketExists("layer-network-dev-data")).toBe(true);
    expect((await stackStatus("network/dev")).conditions).toEqual(expect.arrayContaining(["Orphaned", "AwaitingApproval"]));

    const approved = await runStackd(["approve", preview.id, "--api", svc.url], admin);
    expect(approved.code, approved.stderr).toBe(0);
    const destroy = await waitFor("the approved destroy", () => svc.runs("network/dev").find((r) => r.kind === "destroy" && r.approvalOf === preview.id && r.status !== "queued" && r.status !== "running"), 300_000);
    expect(destroy, destroy.error ?? "").toMatchObject({ status: "succeeded", trigger: "prune", requestedBy: "tester", revision: preview.revision });
    expect(destroy.changes!.delete).toBe(preview.changes!.delete);
    expect(await aws.bucketExists("layer-network-dev-data")).toBe(false);
    expect(fs.existsSync(stateFile("network", "dev"))).toBe(false);
    expect(((await (await svc.api("/api/stacks")).json()) as { stacks: StackStatus[] }).stacks).toEqual([]);
  });
});
