import { execFile, execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engineEnv, loadToolchain, resolveBackend } from "../src/pulumi/index.ts";
import { reconcile } from "../src/reconciler/index.ts";
import { ReportSchema, type Report } from "../src/report/index.ts";
import { installRoot } from "../src/support/index.ts";
import type { PreviewRecord } from "../src/ledger/index.ts";
import { startEmulator, type Emulator } from "./testkit/emulator.ts";
import { createSampleRepo, type SampleRepo } from "./testkit/sample-repo.ts";
import { startFakeGitHub, type FakeGitHub } from "./testkit/github.ts";
import { GITHUB_TOKEN, servedSampleRepo, startService, waitFor, type TestService } from "./testkit/service.ts";

const exec = promisify(execFile);
const CANARY = "canary-7c41d9e2f0a8";

let emu: Emulator;

/** Encrypts a secret into the stack's config file with the engine, as a person would with `pulumi config set --secret`. */
async function setSecret(repo: SampleRepo, dataDir: string, stack: string, key: string, value: string) {
  const tc = await loadToolchain();
  const b = resolveBackend(dataDir);
  execFileSync(path.join(tc.binDir, "pulumi"), ["config", "set", "--secret", "--stack", stack, key, value], {
    cwd: repo.dir,
    env: { ...process.env, ...engineEnv(tc, { PULUMI_BACKEND_URL: b.backendUrl, PULUMI_CONFIG_PASSPHRASE: b.passphrase, PULUMI_HOME: b.pulumiHome }) },
    stdio: "ignore",
  });
}

async function preview(repo: SampleRepo, dataDir: string, ref: string, format = "json") {
  try {
    const { stdout } = await exec(
      process.execPath,
      [path.join(installRoot, "bin", "stackd.js"), "preview", "--repo", repo.dir, "--ref", ref, "--base", "main", "--data-dir", dataDir, "--format", format],
      { env: { ...process.env, ...emu.env } },
    );
    return { code: 0, stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  emu = await startEmulator();
});

afterAll(async () => {
  await emu?.stop();
});

describe("stackd preview", () => {
  let repo: SampleRepo;
  let dataDir: string;

  beforeAll(async () => {
    repo = createSampleRepo();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "stackd-preview-"));
    await reconcile({ repo: repo.dir, dataDir, env: emu.env });
  });

  it("a branch changing one tag names exactly that resource and property, old and new, and exits 2", async () => {
    repo.git("checkout", "-q", "-b", "one-tag");
    repo.commit({ "stacks/Pulumi.prod.yaml": repo.read("stacks/Pulumi.prod.yaml").replace("dataClass: internal", "dataClass: restricted") }, "restrict prod");
    repo.git("checkout", "-q", "main");
    const res = await preview(repo, dataDir, "one-tag");
    expect(res.code).toBe(2);
    const report: Report = ReportSchema.parse(JSON.parse(res.stdout));
    expect(report.stacks.map((s) => `${s.stack}:${s.status}`)).toEqual(["prod:previewed"]);
    // The plan an approval would apply is named by its digest.
    expect(report.stacks[0]!.planDigest).toMatch(/^[0-9a-f]{64}$/);
    const changed = report.stacks[0]!.resources.filter((r) => r.op !== "same");
    expect(changed).toEqual([
      {
        urn: "urn:pulumi:prod::sample-infra::pulumi-nodejs:dynamic/sample:Bucket::data",
        type: "pulumi-nodejs:dynamic/sample:Bucket",
        op: "update",
        properties: ["tags.dataClass"],
        diff: [{ path: "tags.dataClass", old: "internal", new: "restricted" }],
      },
    ]);
    const md = (await preview(repo, dataDir, "one-tag", "md")).stdout;
    expect(md).toContain("| sample-infra/prod | changes | 0 | 1 | 0 | 0 | — |");
    expect(md).toContain('| ~ update | data | `pulumi-nodejs:dynamic/sample:Bucket` | `tags.dataClass`: `"internal"` → `"restricted"` |');
    // A preview applies nothing.
    expect((await (await import("./testkit/aws.ts")).cloud(emu).bucketTags("stackd-sample-prod-data")).dataClass).toBe("internal");
  });

  it("a mandatory policy violation is shown and exits 2; a change touching no stack exits 0", async () => {
    repo.git("checkout", "-q", "-b", "unversioned", "main");
    repo.commit({ "infra/index.ts": `${repo.read("infra/index.ts")}\nnew Bucket("scratch", { bucketName: \`\${prefix}-\${stack}-scratch\`, versioning: false, tags });\n` }, "scratch bucket");
    repo.git("checkout", "-q", "-b", "docs", "main");
    repo.commit({ "docs/README.md": "notes\n" }, "docs only");
    repo.git("checkout", "-q", "main");
    const bad = await preview(repo, dataDir, "unversioned", "md");
    expect(bad.code).toBe(2);
    expect(bad.stdout).toMatch(/\| sample-infra\/dev \| blocked \| 1 \| 0 \| 0 \| 0 \| 1 mandatory \|/);
    expect(bad.stdout).toContain("- **mandatory** `sample-policies/bucket-versioning`: bucket stackd-sample-dev-scratch must enable versioning");
    const docs = await preview(repo, dataDir, "docs", "md");
    expect(docs.code).toBe(0);
    expect(docs.stdout).toContain("No stack is affected by this change.");
  });

  it("a secret config value appears in no report, only as [secret]", async () => {
    repo.git("checkout", "-q", "-b", "secret", "main");
    await setSecret(repo, dataDir, "dev", "sample-infra:apiKey", CANARY);
    // The sample keeps a secret apiKey in an SSM parameter when it is set.
    repo.git("commit", "-qam", "api key");
    // The stack file holds the value encrypted, as Pulumi writes secrets.
    expect(repo.read("stacks/Pulumi.dev.yaml")).toMatch(/sample-infra:apiKey:\n\s+secure: v1:\S+/);
    expect(repo.read("stacks/Pulumi.dev.yaml")).not.toContain(CANARY);
    repo.git("checkout", "-q", "main");
    const json = await preview(repo, dataDir, "secret");
    expect(json.code).toBe(2);
    const report = ReportSchema.parse(JSON.parse(json.stdout));
    expect(report.stacks.find((s) => s.stack === "dev")!.resources.some((r) => r.op === "create" && r.urn.endsWith("Parameter::api-key"))).toBe(true);
    const md = await preview(repo, dataDir, "secret", "md");
    for (const out of [json.stdout, json.stderr ?? "", md.stdout, md.stderr ?? ""]) expect(out).not.toContain(CANARY);
  });
});

describe("pull request previews in the service", () => {
  let served: Awaited<ReturnType<typeof servedSampleRepo>>;
  let svc: TestService;
  let github: FakeGitHub;

  beforeAll(async () => {
    github = await startFakeGitHub();
    served = await servedSampleRepo();
    served.push();
    svc = await startService({ repo: served.url, dataDir: fs.mkdtempSync(path.join(os.tmpdir(), "stackd-pr-")), env: emu.env, githubUrl: github.url });
    await waitFor("initial applies", () => svc.runs().filter((r) => r.status === "succeeded").length === 2, 180_000);
  });

  afterAll(async () => {
    await svc?.stop();
    await github?.stop();
    await served?.daemon.stop();
  });

  function pushBranch(value: string): string {
    served.repo.git("checkout", "-q", "-B", "feature", value === "first" ? "main" : "feature");
    served.repo.commit({ "stacks/Pulumi.dev.yaml": served.repo.read("stacks/Pulumi.dev.yaml").replace(/dataClass: .*/, `dataClass: ${value}`) }, value);
    served.repo.git("push", "-q", "-f", "origin", "feature");
    const sha = served.repo.head();
    served.repo.git("checkout", "-q", "main");
    return sha;
  }

  const completed = (id: string) => waitFor(`preview ${id}`, () => {
    const p = svc.ledger.previews.get(id);
    return p && p.status !== "queued" && p.status !== "running" && (p.checkRunId !== null || p.status !== "completed") ? p : undefined;
  }, 180_000);

  it("one check run and one comment per push; the comment is edited, never duplicated; supersession is recorded", async () => {
    const first = pushBranch("first");
    const res = await svc.pullRequestWebhook({ number: 7, action: "opened", headSha: first, headRef: "feature" });
    expect(res.status).toBe(202);
    const p1 = await completed(((await res.json()) as { preview: string }).preview);
    expect(p1.status).toBe("completed");
    expect(p1.report!.stacks.map((s) => `${s.stack}:${s.status}`)).toEqual(["dev:previewed"]);
    expect(p1.markdown).toContain(`Plan \`sha256:${p1.report!.stacks[0]!.planDigest!.slice(0, 16)}\``);

    const checkRuns = () => github.requests.filter((r) => r.method === "POST" && r.path === "/repos/team/infra/check-runs");
    const created = () => github.requests.filter((r) => r.method === "POST" && r.path === "/repos/team/infra/issues/7/comments");
    const edited = () => github.requests.filter((r) => r.method === "PATCH" && r.path.startsWith("/repos/team/infra/issues/comments/"));
    expect(checkRuns()).toHaveLength(1);
    expect(checkRuns()[0]!.body).toMatchObject({ name: "stackd preview", head_sha: first, status: "completed", conclusion: "neutral" });
    expect(checkRuns()[0]!.authorization).toBe(`token ${GITHUB_TOKEN}`);
    expect(created()).toHaveLength(1);
    expect(String(created()[0]!.body!.body)).toContain('`tags.dataClass`: `"internal"` → `"first"`');

    // Two pushes in a row: the older preview is superseded, the newer one reported.
    const second = pushBranch("second");
    const r2 = (await (await svc.pullRequestWebhook({ number: 7, action: "synchronize", headSha: second, headRef: "feature" })).json()) as { preview: string };
    const third = pushBranch("third");
    const r3 = (await (await svc.pullRequestWebhook({ number: 7, action: "synchronize", headSha: third, headRef: "feature" })).json()) as { preview: string };
    const p3 = await completed(r3.preview);
    expect(p3.status).toBe("completed");
    const p2 = await completed(r2.preview);
    expect(p2.status).toBe("superseded");
    expect(created()).toHaveLength(1);
    expect(edited().length).toBeGreaterThanOrEqual(1);
    expect(edited().at(-1)!.path).toBe(`/repos/team/infra/issues/comments/${p1.commentId}`);
    expect(String(edited().at(-1)!.body!.body)).toContain('`"internal"` → `"third"`');
    expect(checkRuns().map((c) => c.body!.head_sha)).not.toContain(second);

    const list = (await (await svc.api(`/api/previews?pr=7`)).json()) as { previews: PreviewRecord[] };
    expect(list.previews.map((p) => p.status)).toEqual(["completed", "superseded", "completed"]);
    const one = (await (await svc.api(`/api/previews/${p3.id}`)).json()) as PreviewRecord;
    expect(one.markdown).toContain("<!-- stackd-preview -->");
  });

  it("a pull request from a fork is not previewed by default", async () => {
    const before = github.requests.length;
    const sha = served.repo.head();
    const res = await svc.pullRequestWebhook({ number: 8, action: "opened", headSha: sha, headRef: "main", fork: true });
    const body = (await res.json()) as { status: string; reason: string };
    expect(body.status).toBe("ignored");
    expect(body.reason).toBe("pull request from a fork: previews of forks are off (stackd.yaml previews.forks)");
    // An ignored preview is recorded as such and nothing runs for it: no check run, no comment.
    expect(svc.ledger.previews.list({ pr: 8 }).map((p) => [p.status, p.head])).toEqual([["ignored", sha]]);
    expect(github.requests.length).toBe(before);
  });
});
