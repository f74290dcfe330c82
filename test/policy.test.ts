import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ReportSchema } from "../src/report/index.ts";
import { installRoot } from "../src/support/index.ts";
import { startEmulator, type Emulator } from "./testkit/emulator.ts";
import { createSampleRepo, type SampleRepo } from "./testkit/sample-repo.ts";
import { cloud } from "./testkit/aws.ts";
import { servedSampleRepo, settled, startService, waitFor, type TestService } from "./testkit/service.ts";

const exec = promisify(execFile);

const auditBucket = (versioning: boolean) =>
  `\nnew Bucket("audit", { bucketName: \`\${prefix}-\${stack}-audit\`, versioning: ${versioning}, tags });\n`;

const BROKEN_PACK = `import { PolicyPack } from "@pulumi/policy";
new PolicyPack("broken-pack", {
    policies: [{
        name: "explodes",
        description: "Throws on every resource.",
        enforcementLevel: "mandatory",
        validateResource: () => { throw new Error("canary failure inside the pack"); },
    }],
});
`;

/** A second pack beside policies/ that throws: same dependencies, so its install is the cached one. */
function brokenPackFiles(repo: SampleRepo): Record<string, string> {
  const files: Record<string, string> = { "policies-broken/index.ts": BROKEN_PACK };
  for (const f of ["package.json", "package-lock.json", "tsconfig.json", "PulumiPolicy.yaml"]) files[`policies-broken/${f}`] = repo.read(`policies/${f}`);
  return files;
}

let emu: Emulator;
let aws: ReturnType<typeof cloud>;

beforeAll(async () => {
  emu = await startEmulator();
  aws = cloud(emu);
});

afterAll(async () => {
  await emu?.stop();
});

describe("policy packs in the service", () => {
  let served: Awaited<ReturnType<typeof servedSampleRepo>>;
  let svc: TestService;

  beforeAll(async () => {
    served = await servedSampleRepo();
    served.push();
    svc = await startService({ repo: served.url, dataDir: fs.mkdtempSync(path.join(os.tmpdir(), "stackd-policy-")), env: emu.env });
  });

  afterAll(async () => {
    await svc?.stop();
    await served?.daemon.stop();
  });

  async function pushAndSettle(files: Record<string, string>, message: string) {
    served.repo.commit(files, message);
    const revision = served.push();
    await svc.pushWebhook(revision);
    await waitFor("runs of the commit", () => svc.runs().filter((r) => r.revision === revision).length >= 1);
    await settled(svc);
    return svc.runs().filter((r) => r.revision === revision);
  }

  it("a clean revision passes the packs and applies", async () => {
    await waitFor("initial runs", () => svc.runs().length === 2);
    await settled(svc);
    for (const r of svc.runs()) {
      expect(r.status, r.error ?? "").toBe("succeeded");
      expect(r.policy).toEqual([]);
    }
  });

  it("a bucket without versioning is blocked with the violation recorded, and nothing changes in the cloud", async () => {
    const program = served.repo.read("infra/index.ts");
    // The same commit also changes a tag the up would apply first: one engine pass (an up that
    // previews first) must stop before that change too.
    const devConfig = served.repo.read("stacks/Pulumi.dev.yaml");
    const runs = await pushAndSettle(
      { "infra/index.ts": program + auditBucket(false), "stacks/Pulumi.dev.yaml": devConfig.replace("dataClass: internal", "dataClass: with-the-violation") },
      "add an audit bucket without versioning, and retag",
    );
    expect(runs.map((r) => `${r.stack}:${r.status}`).sort()).toEqual(["sample-infra/dev:blocked", "sample-infra/prod:blocked"]);
    const dev = runs.find((r) => r.stack === "sample-infra/dev")!;
    expect(dev.policy).toEqual([
      {
        pack: "sample-policies",
        policy: "bucket-versioning",
        enforcement: "mandatory",
        message: "bucket stackd-sample-dev-audit must enable versioning (set versioning: true)",
        urn: "urn:pulumi:dev::sample-infra::pulumi-nodejs:dynamic/sample:Bucket::audit",
      },
    ]);
    expect(dev.error).toBe("blocked by 1 mandatory policy violation(s), first: sample-policies/bucket-versioning: bucket stackd-sample-dev-audit must enable versioning (set versioning: true)");
    const api = (await (await svc.api(`/api/runs/${dev.id}`)).json()) as { status: string; policy: unknown[] };
    expect(api.status).toBe("blocked");
    expect(api.policy).toEqual(dev.policy);
    expect(await aws.bucketExists("stackd-sample-dev-audit")).toBe(false);
    expect(await aws.bucketExists("stackd-sample-prod-audit")).toBe(false);
    expect((await aws.bucketTags("stackd-sample-dev-data")).dataClass).toBe("internal");
    const log = svc.ledger.runs.get(dev.id)!.log!;
    expect(log).toContain("Previewing update (dev)");
    expect(log).not.toContain("Updating (dev)");

    const fixed = await pushAndSettle({ "infra/index.ts": program + auditBucket(true), "stacks/Pulumi.dev.yaml": devConfig }, "version the audit bucket");
    expect(fixed.map((r) => `${r.stack}:${r.status}`).sort()).toEqual(["sample-infra/dev:succeeded", "sample-infra/prod:succeeded"]);
    expect(await aws.bucketVersioning("stackd-sample-dev-audit")).toBe("Enabled");
  });

  it("advisory violations are recorded and never block", async () => {
    const file = "stacks/Pulumi.dev.yaml";
    const runs = await pushAndSettle({ [file]: served.repo.read(file).replace('retentionSeconds: "345600"', 'retentionSeconds: "60"') }, "short retention");
    expect(runs.map((r) => `${r.stack}:${r.status}`)).toEqual(["sample-infra/dev:succeeded"]);
    expect(runs[0]!.policy).toEqual([
      expect.objectContaining({ pack: "sample-policies", policy: "queue-message-retention", enforcement: "advisory", message: expect.stringMatching(/keeps messages 60 s; at least 345600 s/) }),
    ]);
    expect(await aws.queueRetention("stackd-sample-dev-jobs")).toBe(60);
  });

  it("a pack that throws is a clear error on the stacks that use it and blocks nothing else", async () => {
    // prod gets a pack of its own, at first a copy of the sample pack: it passes.
    const guardrails = brokenPackFiles(served.repo);
    const first = await pushAndSettle({ ...guardrails, "policies-broken/index.ts": served.repo.read("policies/index.ts"), "stackd.yaml": "stacks:\n  prod:\n    policyPacks: [policies-broken]\n" }, "a pack for prod");
    expect(first.map((r) => `${r.stack}:${r.status}`).sort()).toEqual(["sample-infra/dev:succeeded", "sample-infra/prod:succeeded"]);
    // A commit that changes only that pack (and dev's config) reaches prod through the pack.
    const dev = "stacks/Pulumi.dev.yaml";
    const runs = await pushAndSettle(
      { "policies-broken/index.ts": BROKEN_PACK, [dev]: served.repo.read(dev).replace("dataClass: internal", "dataClass: audited") },
      "the prod pack breaks",
    );
    const byStack = Object.fromEntries(runs.map((r) => [r.stack, r]));
    expect(runs.map((r) => r.stack).sort()).toEqual(["sample-infra/dev", "sample-infra/prod"]);
    expect(byStack["sample-infra/dev"]!.status).toBe("succeeded");
    expect(byStack["sample-infra/prod"]!.status).toBe("failed");
    expect(byStack["sample-infra/prod"]!.error).toMatch(/policy 'explodes' from policy pack 'broken-pack@v1\.0\.0': canary failure inside the pack/);
    expect((await aws.bucketTags("stackd-sample-dev-data")).dataClass).toBe("audited");
  });
});

describe("stackd policy check", () => {
  async function check(repo: SampleRepo, ...extra: string[]) {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "stackd-check-"));
    try {
      const { stdout } = await exec(process.execPath, [path.join(installRoot, "bin", "stackd.js"), "policy", "check", "--repo", repo.dir, "--data-dir", dataDir, "--format", "json", ...extra], {
        env: { ...process.env, ...emu.env },
      });
      return { code: 0, report: ReportSchema.parse(JSON.parse(stdout)) };
    } catch (err) {
      const e = err as { code: number; stdout: string };
      return { code: e.code, report: ReportSchema.parse(JSON.parse(e.stdout)) };
    }
  }

  it("exits 0 when clean, 2 on mandatory violations, 1 on a pack error, and applies nothing", async () => {
    await emu.reset();
    const repo = createSampleRepo();
    const clean = repo.head();
    const ok = await check(repo);
    expect(ok.code).toBe(0);
    expect(ok.report.stacks.map((s) => s.status)).toEqual(["previewed", "previewed"]);
    expect(ok.report.stacks[0]!.changes.create).toBe(3);

    repo.commit({ "infra/index.ts": repo.read("infra/index.ts") + auditBucket(false) }, "unversioned");
    const bad = await check(repo);
    expect(bad.code).toBe(2);
    expect(bad.report.stacks.map((s) => s.status)).toEqual(["blocked", "blocked"]);
    expect(bad.report.stacks[1]!.policy.map((v) => `${v.enforcement}:${v.policy}`)).toEqual(["mandatory:bucket-versioning"]);

    expect((await check(repo, "--ref", clean)).code).toBe(0);

    repo.commit({ ...brokenPackFiles(repo), "stackd.yaml": "policyPacks: [policies, policies-broken]\n" }, "broken pack everywhere");
    const broken = await check(repo);
    expect(broken.code).toBe(1);
    expect(broken.report.stacks.every((s) => s.status === "failed" && /canary failure inside the pack/.test(s.error ?? ""))).toBe(true);
    expect(await aws.bucketExists("stackd-sample-dev-data")).toBe(false);
  });
});
