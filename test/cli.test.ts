import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ReportSchema } from "../src/report/index.ts";
import { installRoot } from "../src/support/index.ts";
import { startEmulator, freePort, type Emulator } from "./testkit/emulator.ts";
import { serveGit, type GitDaemon } from "./testkit/git-daemon.ts";
import { createSampleRepo } from "./testkit/sample-repo.ts";
import { cloud } from "./testkit/aws.ts";

const exec = promisify(execFile);

let emu: Emulator;
let daemon: GitDaemon;
let served: string;

/** Runs the stackd CLI as a user would and returns its exit code and output. */
async function stackd(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await exec(process.execPath, [path.join(installRoot, "bin", "stackd.js"), ...args], {
      env: { ...process.env, ...env },
      maxBuffer: 32 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  emu = await startEmulator();
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), "stackd-remote-"));
  const repo = createSampleRepo(parent);
  served = path.join(parent, "served");
  fs.mkdirSync(served);
  repo.git("clone", "-q", "--bare", repo.dir, path.join(served, "infra.git"));
  daemon = await serveGit(served);
});

afterAll(async () => {
  await daemon?.stop();
  await emu?.stop();
});

describe("stackd reconcile (CLI)", () => {
  it("clones over git:// from a loopback git daemon and prints the JSON report", async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "stackd-data-"));
    const res = await stackd(["reconcile", "--repo", daemon.url("infra.git"), "--branch", "main", "--data-dir", dataDir, "--format", "json"], emu.env);
    expect(res.code, res.stderr).toBe(0);
    const report = ReportSchema.parse(JSON.parse(res.stdout));
    expect(report.stacks.map((s) => `${s.stack}:${s.status}`)).toEqual(["dev:applied", "prod:applied"]);
    expect(await cloud(emu).bucketTags("stackd-sample-prod-data")).toMatchObject({ stack: "prod" });
    expect(res.stderr).toContain("sample-infra/prod: applied");
  });

  it("an unreachable repository is one clear line and exit 1", async () => {
    const port = await freePort();
    const url = `git://127.0.0.1:${port}/nowhere.git`;
    const res = await stackd(["reconcile", "--repo", url, "--data-dir", fs.mkdtempSync(path.join(os.tmpdir(), "stackd-data-"))]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(new RegExp(`stackd: error: repository ${url}: cannot fetch: .+; check the URL`));
    expect(res.stdout).toBe("");
  });

  it("usage errors exit 2", async () => {
    const missing = await stackd(["reconcile"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("required option '--repo <path|url>' not specified");
    const format = await stackd(["reconcile", "--repo", ".", "--format", "yaml"]);
    expect(format.code).toBe(2);
    expect(format.stderr).toContain('--format: unknown format "yaml"');
  });

  it("a failed stack makes the exit code 1 and names the stack in text output", async () => {
    const repo = createSampleRepo();
    const prod = repo.read("stacks/Pulumi.prod.yaml");
    repo.commit({ "stacks/Pulumi.prod.yaml": `${prod}  sample-infra:owner: [unclosed\n` }, "break prod");
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "stackd-data-"));
    await emu.reset();
    const res = await stackd(["reconcile", "--repo", repo.dir, "--data-dir", dataDir], emu.env);
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/sample-infra\/prod: failed/);
    expect(res.stdout).toMatch(/error: stacks\/Pulumi\.prod\.yaml: invalid YAML at line \d+/);
    expect(res.stdout).toMatch(/sample-infra\/dev: applied/);
  });

  it("stackd drift: exit 0 in sync, 2 with the drifted property and its values, 2 for an unknown stack", async () => {
    const repo = createSampleRepo();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "stackd-data-"));
    await emu.reset();
    expect((await stackd(["reconcile", "--repo", repo.dir, "--data-dir", dataDir], emu.env)).code).toBe(0);
    const clean = await stackd(["drift", "--repo", repo.dir, "--data-dir", dataDir, "--format", "json"], emu.env);
    expect(clean.code, clean.stderr).toBe(0);
    expect(ReportSchema.parse(JSON.parse(clean.stdout)).stacks.map((s) => s.status)).toEqual(["in-sync", "in-sync"]);

    const aws = cloud(emu);
    const tags = await aws.bucketTags("stackd-sample-dev-data");
    const { PutBucketTaggingCommand } = await import("@aws-sdk/client-s3");
    const TagSet = Object.entries({ ...tags, owner: "someone-else" }).map(([Key, Value]) => ({ Key, Value }));
    await aws.s3.send(new PutBucketTaggingCommand({ Bucket: "stackd-sample-dev-data", Tagging: { TagSet } }));
    const drifted = await stackd(["drift", "--repo", repo.dir, "--data-dir", dataDir, "--stack", "dev", "--format", "json"], emu.env);
    expect(drifted.code).toBe(2);
    const report = ReportSchema.parse(JSON.parse(drifted.stdout));
    expect(report.stacks.map((s) => `${s.stack}:${s.status}`)).toEqual(["dev:drifted"]);
    expect(report.stacks[0]!.resources.filter((r) => r.op === "drift")).toEqual([
      expect.objectContaining({ op: "drift", properties: ["tags.owner"], drift: [{ path: "tags.owner", declared: "platform-team", actual: "someone-else" }] }),
    ]);
    const unknown = await stackd(["drift", "--repo", repo.dir, "--data-dir", dataDir, "--stack", "nope"], emu.env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("no stack named nope");
  });
});
