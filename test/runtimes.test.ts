// Real programs in every runtime stackd supports, with real provider plugins
// (random, tls) served by a loopback mirror: the engine, the language hosts
// and the emulator are all real.
import { execFile, execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { GetParameterCommand, PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensurePlugins, listPlugins, tarballName } from "../src/plugins/index.ts";
import { previewChange, reconcile } from "../src/reconciler/index.ts";
import { ReportSchema, type Report, type StackReport } from "../src/report/index.ts";
import { startEmulator, type Emulator } from "./testkit/emulator.ts";
import { startPluginMirror, testPluginTarballs, type PluginMirror } from "./testkit/plugin-mirror.ts";
import { createExamplesRepo, type SampleRepo } from "./testkit/sample-repo.ts";
import { settled, startService } from "./testkit/service.ts";
import { cacheDir, installRoot } from "../src/support/index.ts";

// The package index reached here answers PyPI's simple API only; poetry asks its JSON API unless told.
const POETRY_SETTINGS = '\n[tool.poetry]\npackage-mode = false\n\n[[tool.poetry.source]]\nname = "pypi-simple"\nurl = "https://pypi.org/simple/"\npriority = "primary"\n';
const RANDOM = tarballName("resource", "random", "4.18.2");
const TLS = tarballName("resource", "tls", "5.2.0");

let emu: Emulator;
let mirror: PluginMirror;
let repo: SampleRepo;
let dataDir: string;
let home: string;

const tmp = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), prefix));

/** The environment a platform team would give stackd: the emulator, a fresh PULUMI_HOME, Pulumi's own mirror override. */
function env(extra: Record<string, string> = {}): Record<string, string> {
  return { ...emu.env, PULUMI_HOME: home, PULUMI_PLUGIN_DOWNLOAD_URL_OVERRIDES: `^github://api.github.com/pulumi=${mirror.url}`, ...extra };
}

async function run(opts: { stacks?: string[]; env?: Record<string, string>; mode?: "apply" | "drift" } = {}): Promise<Report> {
  return ReportSchema.parse(await reconcile({ repo: repo.dir, dataDir, env: opts.env ?? env(), stacks: opts.stacks, mode: opts.mode }));
}

function stack(report: Report, project: string): StackReport {
  const s = report.stacks.find((x) => x.project === project);
  if (!s) throw new Error(`no stack of ${project} in ${JSON.stringify(report)}`);
  return s;
}

/** A project's directory in the checkout stackd made of a revision (data dir/worktrees/<repo key>/<revision>/). */
/** A project's directory in the run checkout (see source/run-checkouts.ts) that ran `revision` last. */
function checkoutOf(revision: string, project: string): string {
  const root = path.join(dataDir, "checkouts");
  const [key] = fs.readdirSync(root);
  const slots = path.join(root, key!);
  const record = fs.readdirSync(slots).find((f) => f.endsWith(".revision") && JSON.parse(fs.readFileSync(path.join(slots, f), "utf8")).revision === revision);
  if (!record) throw new Error(`no run checkout holds ${revision}`);
  return path.join(slots, record.replace(/\.revision$/, ""), project);
}

/** sha256 of the provider executable inside a tarball, as the engine installs it. */
function binarySha(tarball: string, binary: string): string {
  const bytes = execFileSync("tar", ["-xzOf", path.join(testPluginTarballs(), tarball), binary], { maxBuffer: 256 * 1024 * 1024 });
  return execFileSync("sha256sum", { input: bytes }).toString().split(" ")[0]!;
}

function ssm(): SSMClient {
  return new SSMClient({ endpoint: emu.endpoint, region: "us-east-1", credentials: { accessKeyId: "testing", secretAccessKey: "testing" } });
}

beforeAll(async () => {
  emu = await startEmulator();
  mirror = await startPluginMirror(testPluginTarballs());
  repo = createExamplesRepo(["typescript", "python", "yaml", "go", "policy-python"]);
  dataDir = tmp("stackd-data-");
  home = tmp("stackd-pulumi-home-");
});

afterAll(async () => {
  await mirror?.stop();
  await emu?.stop();
});

describe("programs in every runtime, with real provider plugins", () => {
  it("TypeScript, Python, YAML and Go programs reconcile from a fresh PULUMI_HOME, each plugin fetched once from the mirror", async () => {
    const report = await run();
    for (const s of report.stacks) expect(s.status, `${s.project}: ${s.error}`).toBe("applied");
    const random = { kind: "resource", name: "random", version: "4.18.2", sha256: binarySha(RANDOM, "pulumi-resource-random") };
    const tls = { kind: "resource", name: "tls", version: "5.2.0", sha256: binarySha(TLS, "pulumi-resource-tls") };
    expect(report.stacks.map((s) => [s.project, s.runtime, s.plugins, s.changes.create])).toEqual([
      ["example-go", "go", [random], 1],
      ["example-python", "python", [random], 2],
      ["example-typescript", "nodejs", [random], 2],
      ["example-yaml", "yaml", [random, tls], 2],
    ]);
    expect(mirror.served(RANDOM)).toBe(1);
    expect(mirror.served(TLS)).toBe(1);
    expect(listPlugins(home).map((p) => `${p.kind} ${p.name} ${p.version} ${p.sha256}`)).toEqual([
      `resource random 4.18.2 ${random.sha256}`,
      `resource tls 5.2.0 ${tls.sha256}`,
    ]);
    // The Python program's dynamic provider wrote to the emulator through boto3.
    const param = await ssm().send(new GetParameterCommand({ Name: "/example-python/dev/greeting" }));
    expect(param.Parameter?.Value).toBe("hello from python");
  });

  it("a second stack that needs the same plugin is served from the cache", async () => {
    repo.commit({ "typescript/Pulumi.prod.yaml": "config:\n  example-typescript:petLength: \"3\"\n" }, "a prod stack");
    const before = mirror.requests.length;
    const report = await run({ stacks: ["example-typescript/prod"] });
    const prod = report.stacks[0]!;
    expect([prod.stack, prod.status, prod.plugins?.map((p) => `${p.name}@${p.version}`)]).toEqual(["prod", "applied", ["random@4.18.2"]]);
    expect(mirror.requests.length).toBe(before);
  });

  it("two programs asking for one missing plugin at once install it once", async () => {
    home = tmp("stackd-pulumi-home-");
    const checkout = tmp("stackd-two-yaml-");
    for (const name of ["a", "b"]) fs.cpSync(path.join(repo.dir, "yaml"), path.join(checkout, name), { recursive: true });
    const before = mirror.served(RANDOM);
    const opts = { home, sources: [{ kind: "mirror" as const, url: mirror.url, env: { PULUMI_PLUGIN_DOWNLOAD_URL_OVERRIDES: `.*=${mirror.url}` } }], env: {} };
    const [a, b] = await Promise.all([ensurePlugins(path.join(checkout, "a"), opts), ensurePlugins(path.join(checkout, "b"), opts)]);
    expect(a).toEqual(b);
    expect(a.map((p) => p.name)).toEqual(["random", "tls"]);
    expect(mirror.served(RANDOM) - before).toBe(1);
    expect(fs.readdirSync(path.join(home, "plugins")).filter((f) => f.endsWith(".partial"))).toEqual([]);
  });

  it("with an empty mirror, the offline directory stackd.yaml names supplies the plugins", async () => {
    home = tmp("stackd-pulumi-home-");
    const offline = path.join(tmp("stackd-offline-"), "air-gapped plugins");
    fs.cpSync(testPluginTarballs(), offline, { recursive: true });
    const empty = await startPluginMirror(tmp("stackd-empty-mirror-"));
    try {
      repo.commit({ "stackd.yaml": `plugins:\n  dir: ${JSON.stringify(offline)}\n  mirror: ${empty.url}\n` }, "plugins from an offline dir");
      const report = await run({ stacks: ["example-yaml/dev", "example-typescript/dev"], env: { ...emu.env, PULUMI_HOME: home } });
      expect(report.stacks.map((s) => [s.project, s.status, s.plugins?.length])).toEqual([
        ["example-typescript", "unchanged", 1],
        ["example-yaml", "unchanged", 2],
      ]);
      expect(empty.requests).toEqual([]);
      expect(listPlugins(home).map((p) => p.name)).toEqual(["random", "tls"]);
    } finally {
      await empty.stop();
      repo.git("rm", "-q", "stackd.yaml");
      repo.git("commit", "-q", "-m", "no plugin settings");
    }
  });

  it("a plugin no source has fails only its stack, at once, naming every source and its answer", async () => {
    home = tmp("stackd-pulumi-home-");
    const yaml = repo.read("yaml/Pulumi.yaml");
    repo.commit({ "yaml/Pulumi.yaml": yaml.replace("version: 4.18.2", "version: 9.9.9") }, "a random version nobody has");
    const started = Date.now();
    const report = await run({ stacks: ["example-yaml/dev"] });
    const seconds = (Date.now() - started) / 1000;
    expect(stack(report, "example-yaml")).toMatchObject({
      status: "failed",
      error: `plugin resource random v9.9.9: not found (mirror ${mirror.url}: 404)`,
    });
    expect(mirror.requests.at(-1)).toEqual({ path: `/${tarballName("resource", "random", "9.9.9")}`, status: 404 });
    // Bounded by the engine's own start-up, not by retries or timeouts.
    expect(seconds).toBeLessThan(60);

    repo.commit({ "yaml/Pulumi.yaml": yaml.replace("    options:\n      version: 4.18.2\n", "") }, "leave random's version open");
    const open = await run({ stacks: ["example-yaml/dev"] });
    expect(stack(open, "example-yaml").error).toBe(
      `plugin resource random: the program does not pin a version and neither the cache nor mirror ${mirror.url} can say which is latest; pin it (a package version, or \`version:\` in a YAML resource's options)`,
    );
    repo.commit({ "yaml/Pulumi.yaml": yaml }, "pin random again");
  });

  it("broken programs fail only their own stack, naming the file", async () => {
    const requirements = repo.read("python/requirements.txt");
    const main = repo.read("go/main.go");
    const yaml = repo.read("yaml/Pulumi.yaml");
    repo.commit(
      {
        "python/requirements.txt": `${requirements}stackd-no-such-package==1.0\n`,
        "go/main.go": main.replace("ctx.Export(\"pet\", pet.ID())", "ctx.Export(\"pet\", pet.Missing())"),
        "yaml/Pulumi.yaml": yaml.replace("type: random:index:RandomPet", "type: random:index:RandomPett"),
      },
      "break three programs",
    );
    const report = await run();
    expect(stack(report, "example-python").error).toMatch(
      /^python\/requirements\.txt: pip install failed: ERROR: .*stackd-no-such-package==1\.0/,
    );
    expect(stack(report, "example-go").error).toBe(
      "go/main.go:18:25: Go does not compile: pet.Missing undefined (type *random.RandomPet has no field or method Missing)",
    );
    expect(stack(report, "example-yaml").error).toBe(
      'yaml/Pulumi.yaml:6: error resolving type of resource pet: unable to find resource type "random:index:RandomPett" in resource provider "random"',
    );
    expect(stack(report, "example-typescript").status).toBe("unchanged");
    repo.commit({ "python/requirements.txt": requirements, "go/main.go": main, "yaml/Pulumi.yaml": yaml }, "fix them");
  });

  it("a nodejs program installs with pnpm or yarn when its lockfile says so", async () => {
    const files: Record<string, string> = {};
    for (const [tool, args] of [["pnpm", ["install", "--lockfile-only"]], ["yarn", ["install", "--ignore-scripts", "--silent"]]] as const) {
      const dir = path.join(tmp("stackd-lock-"), tool);
      fs.cpSync(path.join(installRoot, "examples", "typescript"), dir, { recursive: true });
      fs.rmSync(path.join(dir, "package-lock.json"));
      execFileSync(path.join(installRoot, "node_modules", ".bin", tool), [...args], { cwd: dir, stdio: "ignore" });
      for (const f of ["index.ts", "package.json", "tsconfig.json", tool === "pnpm" ? "pnpm-lock.yaml" : "yarn.lock"]) {
        files[`ts-${tool}/${f}`] = fs.readFileSync(path.join(dir, f), "utf8");
      }
      files[`ts-${tool}/Pulumi.yaml`] = `name: example-${tool}\nruntime: nodejs\n`;
      files[`ts-${tool}/Pulumi.dev.yaml`] = "";
    }
    repo.commit(files, "programs locked by pnpm and yarn");
    const report = await run({ stacks: ["example-pnpm/dev", "example-yarn/dev"] });
    expect(report.stacks.map((s) => [s.project, s.status, s.plugins?.map((p) => p.name)])).toEqual([
      ["example-pnpm", "applied", ["random"]],
      ["example-yarn", "applied", ["random"]],
    ]);
    // Each checkout's node_modules is the shared install its own package manager made.
    expect(fs.existsSync(path.join(checkoutOf(report.revision, "ts-pnpm"), "node_modules", ".pnpm"))).toBe(true);
    expect(fs.existsSync(path.join(checkoutOf(report.revision, "ts-yarn"), "node_modules", ".yarn-integrity"))).toBe(true);
  });

  it("a python program whose Pulumi.yaml names uv or poetry gets its venv from pyproject.toml and the lockfile", async () => {
    // uv and poetry as a platform engineer's machine has them: on PATH (setup installs both).
    process.env.PATH = `${path.join(cacheDir(), "pytools", "tools")}${path.delimiter}${process.env.PATH}`;
    const files: Record<string, string> = {};
    for (const tool of ["uv", "poetry"] as const) {
      const dir = path.join(tmp("stackd-pyproject-"), tool);
      const project = `example-python-${tool}`;
      fs.mkdirSync(dir);
      fs.writeFileSync(
        path.join(dir, "pyproject.toml"),
        `[project]\nname = "${project}"\nversion = "0.1.0"\nrequires-python = ">=3.9"\ndependencies = ["pulumi==3.185.0", "pulumi-random==4.18.2", "boto3==1.40.0"]\n${tool === "poetry" ? POETRY_SETTINGS : ""}`,
      );
      execFileSync(tool, ["lock"], { cwd: dir, stdio: "ignore" });
      const lockfile = tool === "uv" ? "uv.lock" : "poetry.lock";
      for (const f of ["pyproject.toml", lockfile]) files[`py-${tool}/${f}`] = fs.readFileSync(path.join(dir, f), "utf8");
      for (const f of ["__main__.py", "parameter.py"]) files[`py-${tool}/${f}`] = repo.read(`python/${f}`);
      files[`py-${tool}/Pulumi.yaml`] = `name: ${project}\nruntime:\n  name: python\n  options:\n    toolchain: ${tool}\n`;
      files[`py-${tool}/Pulumi.dev.yaml`] = `config:\n  ${project}:greeting: hello from ${tool}\n`;
    }
    repo.commit(files, "python programs locked by uv and poetry");
    const report = await run({ stacks: ["example-python-uv/dev", "example-python-poetry/dev"] });
    expect(report.stacks.map((s) => [s.project, s.status, s.runtime, s.plugins?.map((p) => p.name)])).toEqual([
      ["example-python-poetry", "applied", "python", ["random"]],
      ["example-python-uv", "applied", "python", ["random"]],
    ]);
    // The venv each host found at .venv is the shared one its toolchain built from the lockfile.
    expect(fs.readFileSync(path.join(fs.realpathSync(path.join(checkoutOf(report.revision, "py-uv"), ".venv")), "..", "src", "uv.lock"), "utf8")).toBe(files["py-uv/uv.lock"]);
    expect(fs.readFileSync(path.join(fs.realpathSync(path.join(checkoutOf(report.revision, "py-poetry"), ".venv")), "..", "src", "poetry.lock"), "utf8")).toBe(
      files["py-poetry/poetry.lock"],
    );
    for (const tool of ["uv", "poetry"]) {
      const param = await ssm().send(new GetParameterCommand({ Name: `/example-python-${tool}/dev/greeting` }));
      expect(param.Parameter?.Value).toBe(`hello from ${tool}`);
    }
  });

  it("a policy pack written in Python judges the stacks that name it", async () => {
    repo.commit({ "stackd.yaml": "stacks:\n  example-python/*:\n    policyPacks: [policy-python]\n" }, "python stacks get the python pack");
    const report = await run({ stacks: ["example-python/dev"] });
    const py = stack(report, "example-python");
    expect([py.status, py.error, py.policy]).toEqual([
      "blocked",
      "blocked by 1 mandatory policy violation(s), first: pet-names/pet-name-length: a pet name of 2 words is too easy to guess; use a length of 3 or more",
      [
        {
          pack: "pet-names",
          policy: "pet-name-length",
          enforcement: "mandatory",
          message: "a pet name of 2 words is too easy to guess; use a length of 3 or more",
          urn: "urn:pulumi:dev::example-python::random:index/randomPet:RandomPet::pet",
        },
      ],
    ]);
    repo.git("rm", "-q", "stackd.yaml");
    repo.git("commit", "-q", "-m", "no python pack");
  });

  it("a Python stack's drift check and pull request preview work like a TypeScript one's", async () => {
    await ssm().send(new PutParameterCommand({ Name: "/example-python/dev/greeting", Value: "changed by hand", Type: "String", Overwrite: true }));
    const drift = await run({ stacks: ["example-python/dev"], mode: "drift" });
    const py = stack(drift, "example-python");
    expect(py.status).toBe("drifted");
    expect(py.resources.filter((r) => r.op === "drift").map((r) => [r.urn.split("::").pop(), r.drift])).toEqual([
      ["greeting", [{ path: "value", declared: "hello from python", actual: "changed by hand" }]],
    ]);

    repo.git("checkout", "-q", "-b", "greeting");
    repo.commit({ "python/Pulumi.dev.yaml": "config:\n  example-python:greeting: hello again\n" }, "a new greeting");
    repo.git("checkout", "-q", "main");
    const preview = ReportSchema.parse(await previewChange({ repo: repo.dir, ref: "greeting", base: "main", dataDir, env: env() }));
    expect(preview.stacks.map((s) => [s.project, s.stack, s.status])).toEqual([["example-python", "dev", "previewed"]]);
    const changed = preview.stacks[0]!.resources.filter((r) => r.op !== "same");
    expect(changed.map((r) => [r.urn.split("::").pop(), r.op, r.diff])).toEqual([
      ["greeting", "update", [{ path: "value", old: "hello from python", new: "hello again" }]],
    ]);
  });

  it("in the service, two stacks that need the same missing plugins at once fetch each once, and each run records what it used", async () => {
    const yamlRepo = createExamplesRepo(["yaml"]);
    yamlRepo.commit({ "yaml-copy/Pulumi.yaml": yamlRepo.read("yaml/Pulumi.yaml").replace("name: example-yaml", "name: example-yaml-copy"), "yaml-copy/Pulumi.dev.yaml": "" }, "a second project");
    home = tmp("stackd-pulumi-home-");
    const before = { random: mirror.served(RANDOM), tls: mirror.served(TLS) };
    const svc = await startService({ repo: yamlRepo.dir, dataDir: tmp("stackd-svc-"), env: env() });
    try {
      await settled(svc);
      const runs = svc.runs();
      expect(runs.map((r) => `${r.stack} ${r.kind} ${r.status}`).sort()).toEqual(["example-yaml-copy/dev up succeeded", "example-yaml/dev up succeeded"]);
      expect({ random: mirror.served(RANDOM) - before.random, tls: mirror.served(TLS) - before.tls }).toEqual({ random: 1, tls: 1 });
      const run = (await (await svc.api(`/api/runs/${runs[0]!.id}`)).json()) as { runtime: string; plugins: unknown[] };
      expect([run.runtime, run.plugins]).toEqual([
        "yaml",
        [
          { kind: "resource", name: "random", version: "4.18.2", sha256: binarySha(RANDOM, "pulumi-resource-random") },
          { kind: "resource", name: "tls", version: "5.2.0", sha256: binarySha(TLS, "pulumi-resource-tls") },
        ],
      ]);
    } finally {
      await svc.stop();
    }
  });

  it("stackd plugins install --dir seeds a fresh cache from a user-named directory; stackd plugins and doctor show it", async () => {
    const fresh = tmp("stackd-pulumi-home-");
    const seed = path.join(tmp("stackd-seed-"), "plugin tarballs");
    fs.cpSync(testPluginTarballs(), seed, { recursive: true });
    const stackd = (...args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
        execFile(process.execPath, [path.join(installRoot, "bin", "stackd.js"), ...args], { env: { ...process.env, ...emu.env, PULUMI_HOME: fresh } }, (err, stdout, stderr) =>
          resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        ),
      );
    const random = binarySha(RANDOM, "pulumi-resource-random");
    const tls = binarySha(TLS, "pulumi-resource-tls");
    const first = await stackd("plugins", "install", "--dir", seed);
    expect(first.stdout).toBe(`installed resource random v4.18.2 sha256 ${random}\ninstalled resource tls v5.2.0 sha256 ${tls}\n`);
    const again = await stackd("plugins", "install", "--dir", seed);
    expect(again.stdout).toBe(`cached    resource random v4.18.2 sha256 ${random}\ncached    resource tls v5.2.0 sha256 ${tls}\n`);
    const listed = JSON.parse((await stackd("plugins", "--format", "json")).stdout) as { cache: string; plugins: { name: string; version: string; size: number; sha256: string }[] };
    expect(listed.cache).toBe(path.join(fresh, "plugins"));
    expect(listed.plugins.map((p) => [p.name, p.version, p.sha256, p.size > 1_000_000])).toEqual([
      ["random", "4.18.2", random, true],
      ["tls", "5.2.0", tls, true],
    ]);
    const text = (await stackd("plugins")).stdout.split("\n");
    expect(text[1]).toMatch(/^KIND +NAME +VERSION +SIZE +SHA256 +INSTALLED$/);
    expect(text[2]).toMatch(new RegExp(`^resource +random +4\\.18\\.2 +\\d+\\.\\d MiB +${random} +\\d{4}-`));
    const empty = await stackd("plugins", "install", "--dir", tmp("stackd-no-tarballs-"));
    expect([empty.code, empty.stderr]).toEqual([2, expect.stringMatching(/^stackd: error: --dir: no plugin tarballs for this machine in /)]);

    const doctor = await stackd("doctor", "--repo", repo.dir, "--data-dir", tmp("stackd-doctor-"));
    const lines = doctor.stdout.split("\n");
    expect(lines[0]).toMatch(/^engine: pulumi v3\.184\.0 \(\/.+\/bin\)$/);
    expect(lines.slice(1, 5).map((l) => l.split(/\s+/).slice(0, 3).join(" "))).toEqual([
      "language host: go",
      "language host: nodejs",
      "language host: python",
      "language host: yaml",
    ]);
  });
});
