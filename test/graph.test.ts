// The stack graph with the real engine and emulator: network/dev exports an endpoint that
// app/dev reads through a StackReference; both run the sample program (infra/).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { GetParameterCommand } from "@aws-sdk/client-ssm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GraphView } from "../src/graph/index.ts";
import type { Run } from "../src/ledger/index.ts";
import { cloud } from "./testkit/aws.ts";
import { runStackd } from "./testkit/cli.ts";
import { startEmulator, type Emulator } from "./testkit/emulator.ts";
import { ADMIN_TOKEN, servedSampleRepo, settled, startService, waitFor, type TestService } from "./testkit/service.ts";

const project = (name: string) =>
  [
    `name: ${name}`,
    "runtime:",
    "  name: nodejs",
    "  options:",
    "    typescript: true",
    "main: ../infra/",
    "config:",
    `  ${name}:owner: platform-team`,
    `  ${name}:costCenter: cc-1001`,
    `  ${name}:retentionSeconds: "345600"`,
    `  ${name}:namePrefix: layer-${name}`,
    "",
  ].join("\n");

const networkConfig = (endpoint: string, owner = "platform-team") => `config:\n  network:endpoint: ${endpoint}\n  network:owner: ${owner}\n`;

let emu: Emulator;
let served: Awaited<ReturnType<typeof servedSampleRepo>>;
let svc: TestService;
let aws: ReturnType<typeof cloud>;

const upstreamValue = async () =>
  (await aws.ssm.send(new GetParameterCommand({ Name: "/layer-app/dev/upstream-endpoint" }))).Parameter?.Value;
const graph = async () => (await (await svc.api("/api/graph")).json()) as GraphView;
const ok = (r: Run) => r.status === "succeeded";

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
    "network/Pulumi.yaml": project("network"),
    "network/Pulumi.dev.yaml": networkConfig("vpc-1"),
    "app/Pulumi.yaml": project("app"),
    "app/Pulumi.dev.yaml": "config:\n  app:upstream: organization/network/dev\n",
    "stackd.yaml": 'stacks:\n  "*":\n    drift: "off"\n',
  });
  // Only the two layers: the sample's own stacks leave.
  served.repo.git("rm", "-q", "stacks/Pulumi.dev.yaml", "stacks/Pulumi.prod.yaml");
  served.repo.git("commit", "-q", "-m", "layers only");
  served.push();
  svc = await startService({ repo: served.url, dataDir: fs.mkdtempSync(path.join(os.tmpdir(), "stackd-graph-")), env: emu.env });
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
});
