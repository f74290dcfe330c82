import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { IAMClient, CreateUserCommand, CreateAccessKeyCommand, PutUserPolicyCommand, CreateRoleCommand, PutRolePolicyCommand } from "@aws-sdk/client-iam";
import { PutParameterCommand } from "@aws-sdk/client-ssm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { previewChange } from "../src/reconciler/index.ts";
import { renderMarkdown } from "../src/previews/index.ts";
import { installRoot } from "../src/support/index.ts";
import type { Run } from "../src/ledger/index.ts";
import { startEmulator, type Emulator } from "./testkit/emulator.ts";
import { cloud } from "./testkit/aws.ts";
import { startReceiver, type Receiver } from "./testkit/receiver.ts";
import { commitStackSecret } from "./testkit/secrets.ts";
import { servedSampleRepo, settled, startService, waitFor, type TestService } from "./testkit/service.ts";

const exec = promisify(execFile);
const CANARY = "canary-secret-3f9b27c1d0e4";

let emu: Emulator;
let env: Record<string, string>;
let deployer: string;
let forbidden: string;
let served: Awaited<ReturnType<typeof servedSampleRepo>>;
let svc: TestService;
let receiver: Receiver;
let dataDir: string;
let userSecret: string;

/**
 * An emulator that checks credentials: a "stackd" IAM user that may assume
 * the deployer role but not the forbidden one. Requests are authorized from
 * the moment setup is done.
 */
async function locked(): Promise<void> {
  const iam = new IAMClient({ endpoint: emu.endpoint, region: "us-east-1", credentials: { accessKeyId: "setup", secretAccessKey: "setup" } });
  await iam.send(new CreateUserCommand({ UserName: "stackd" }));
  const key = (await iam.send(new CreateAccessKeyCommand({ UserName: "stackd" }))).AccessKey!;
  const trust = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: "*" }, Action: "sts:AssumeRole" }] });
  deployer = (await iam.send(new CreateRoleCommand({ RoleName: "deployer", AssumeRolePolicyDocument: trust }))).Role!.Arn!;
  forbidden = (await iam.send(new CreateRoleCommand({ RoleName: "forbidden", AssumeRolePolicyDocument: trust }))).Role!.Arn!;
  const all = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] });
  await iam.send(new PutRolePolicyCommand({ RoleName: "deployer", PolicyName: "all", PolicyDocument: all }));
  await iam.send(
    new PutUserPolicyCommand({
      UserName: "stackd",
      PolicyName: "base",
      PolicyDocument: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          { Effect: "Allow", Action: ["s3:*", "sqs:*", "ssm:*", "sts:GetCallerIdentity"], Resource: "*" },
          { Effect: "Allow", Action: "sts:AssumeRole", Resource: deployer },
        ],
      }),
    }),
  );
  await fetch(`${emu.endpoint}/moto-api/reset-auth`, { method: "POST", body: "0" });
  userSecret = key.SecretAccessKey!;
  env = { ...emu.env, AWS_ACCESS_KEY_ID: key.AccessKeyId!, AWS_SECRET_ACCESS_KEY: key.SecretAccessKey! };
}

const STACKD_YAML = (receiverUrl: string) =>
  [`notifications: [${receiverUrl}]`, "stacks:", "  dev:", "    roles:", `      roleArn: ${deployer}`, "  prod:", "    roles:", `      roleArn: ${forbidden}`, ""].join("\n");

beforeAll(async () => {
  emu = await startEmulator();
  await locked();
  receiver = await startReceiver();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "stackd-creds-"));
  served = await servedSampleRepo({ "stackd.yaml": STACKD_YAML(receiver.url) });
  await commitStackSecret(served.repo, dataDir, "dev", "apiKey", CANARY);
  served.push();
  svc = await startService({ repo: served.url, dataDir, env });
  await waitFor("first runs", () => svc.runs().length >= 2);
  await settled(svc);
});

afterAll(async () => {
  await svc?.stop();
  await receiver?.stop();
  await served?.daemon.stop();
  await emu?.stop();
});

describe("per-stack roles", () => {
  it("a stack's run happens as its assumed role, the session named after the stack and revision", async () => {
    const dev = svc.runs("sample-infra/dev")[0]!;
    expect(dev.status, dev.error ?? "").toBe("succeeded");
    const log = svc.ledger.runs.get(dev.id)!.log;
    expect(log).toContain(`arn:aws:sts::123456789012:assumed-role/deployer/stackd-sample-infra.dev-${dev.revision.slice(0, 7)}`);
    expect(await cloud(emu).bucketExists("stackd-sample-dev-data")).toBe(false); // the test's own client has no valid key
  });

  it("a role that cannot be assumed stalls that stack with the reason, while the other applies", async () => {
    const prod = (await svc.controller.status()).find((s) => s.name === "sample-infra/prod")!;
    expect(prod.conditions).toContain("Stalled");
    expect(prod.reason).toMatch(new RegExp(`cannot assume role ${forbidden.replace(/[/.]/g, "\\$&")}: AccessDenied: .*not authorized to perform: sts:AssumeRole`));
    expect((await svc.controller.status()).find((s) => s.name === "sample-infra/dev")!.conditions).toEqual(["Ready"]);
  });

  it("stackd doctor names the role that fails and why", async () => {
    const res = await exec(process.execPath, [path.join(installRoot, "bin", "stackd.js"), "doctor", "--repo", served.repo.dir, "--data-dir", fs.mkdtempSync(path.join(os.tmpdir(), "stackd-doc-"))], {
      env: { ...process.env, ...env },
    }).catch((e: { code: number; stdout: string }) => e);
    expect((res as { code?: number }).code).toBe(1);
    const out = (res as { stdout: string }).stdout;
    expect(out).toContain("identity: arn:aws:iam::123456789012:user/stackd: ok");
    expect(out).toContain(`ok     apply   ${deployer} (sample-infra/dev)`);
    expect(out).toMatch(new RegExp(`FAILED apply   ${forbidden.replace(/[/.]/g, "\\$&")} \\(sample-infra/prod\\)\\n\\s+cannot assume role .*AccessDenied`));
  });
});

describe("secret hygiene", () => {
  it("a canary secret, set as stack config and exported as a secret output, appears on no surface", async () => {
    // Drift on the secret parameter makes a notification carry its values too.
    const { SSMClient } = await import("@aws-sdk/client-ssm");
    const user = new SSMClient({ endpoint: emu.endpoint, region: "us-east-1", credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID!, secretAccessKey: env.AWS_SECRET_ACCESS_KEY! } });
    await user.send(new PutParameterCommand({ Name: "/stackd-sample/dev/api-key", Value: "changed-by-hand", Type: "String", Overwrite: true }));
    await svc.api(`/api/stacks/sample-infra/dev/drift`, { method: "POST" });
    const alert = await waitFor("drift notification", () => receiver.bodies.find((b) => b.event === "drift.detected"));
    expect(JSON.stringify(alert.resources)).toContain("Parameter::api-key");
    await waitFor("failure notification", () => receiver.bodies.find((b) => b.event === "run.failed"));
    await settled(svc);

    const surfaces: Record<string, string> = {};
    const get = async (route: string) => (surfaces[`GET ${route}`] = await (await svc.api(route)).text());
    await get("/api/stacks");
    await get("/api/drift");
    await get("/api/stacks/sample-infra/dev/drift");
    await get("/metrics");
    const runs = JSON.parse(await get("/api/runs?limit=200")) as { runs: Run[] };
    for (const r of runs.runs) await get(`/api/runs/${r.id}`);
    expect(runs.runs.some((r) => (svc.ledger.runs.get(r.id)!.log ?? "").includes("apiKeyValue"))).toBe(true);
    for (const args of [["status"], ["runs", "--format", "json", "--limit", "200"], ["status", "--format", "json"]]) {
      const { stdout, stderr } = await exec(process.execPath, [path.join(installRoot, "bin", "stackd.js"), ...args, "--data-dir", dataDir]);
      surfaces[`stackd ${args.join(" ")}`] = stdout + stderr;
    }
    served.repo.git("checkout", "-q", "-b", "pr");
    served.repo.commit({ "stacks/Pulumi.dev.yaml": served.repo.read("stacks/Pulumi.dev.yaml").replace("dataClass: internal", "dataClass: secretive") }, "pr");
    served.repo.git("checkout", "-q", "main");
    const previewLog: string[] = [];
    const report = await previewChange({ repo: served.repo.dir, ref: "pr", base: "main", dataDir: fs.mkdtempSync(path.join(os.tmpdir(), "stackd-pv-")), env, onProgress: (l) => previewLog.push(l) });
    surfaces["preview json"] = JSON.stringify(report);
    surfaces["preview md"] = renderMarkdown(report);
    surfaces["preview progress"] = previewLog.join("\n");
    surfaces["notifications"] = JSON.stringify(receiver.bodies);
    surfaces["service log"] = svc.logs.join("\n");
    for (const f of fs.readdirSync(dataDir).filter((f) => f.startsWith("ledger.db"))) surfaces[`ledger file ${f}`] = fs.readFileSync(path.join(dataDir, f)).toString("latin1");

    expect(Object.keys(surfaces).length).toBeGreaterThan(10);
    expect(surfaces["notifications"]).toContain("drift.detected");
    for (const [where, text] of Object.entries(surfaces)) {
      expect(text.includes(CANARY), `canary found in ${where}`).toBe(false);
      expect(text.includes(userSecret), `stackd's secret key found in ${where}`).toBe(false);
    }
  });
});
