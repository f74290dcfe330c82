import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reconcile } from "../src/reconciler/index.ts";
import { ReportSchema, type Report, type StackReport } from "../src/report/index.ts";
import { startEmulator, type Emulator } from "./testkit/emulator.ts";
import { createSampleRepo, type SampleRepo } from "./testkit/sample-repo.ts";
import { cloud } from "./testkit/aws.ts";

let emu: Emulator;
let repo: SampleRepo;
let dataDir: string;
let aws: ReturnType<typeof cloud>;

async function run(): Promise<Report> {
  const report = await reconcile({ repo: repo.dir, dataDir, env: emu.env });
  return ReportSchema.parse(report);
}

function stack(report: Report, name: string): StackReport {
  const s = report.stacks.find((x) => x.stack === name);
  if (!s) throw new Error(`no stack ${name} in ${JSON.stringify(report)}`);
  return s;
}

function changed(s: StackReport) {
  return s.resources.filter((r) => r.op !== "same").map((r) => ({ type: r.type.split(":").pop(), op: r.op, properties: r.properties }));
}

beforeAll(async () => {
  emu = await startEmulator();
  aws = cloud(emu);
  repo = createSampleRepo();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "stackd-data-"));
});

afterAll(async () => {
  await emu?.stop();
});

describe("reconcile against the real engine and emulator", () => {
  it("creates every stack's resources in the cloud", async () => {
    const report = await run();
    expect(report.revision).toBe(repo.head());
    for (const name of ["dev", "prod"]) {
      const s = stack(report, name);
      expect(s.status, s.error ?? "").toBe("applied");
      expect(s.changes).toEqual({ create: 3, update: 0, replace: 0, delete: 0, same: 0 });
    }
    expect(await aws.bucketTags("stackd-sample-dev-data")).toEqual({
      owner: "platform-team",
      costCenter: "cc-1001",
      stack: "dev",
      dataClass: "internal",
    });
    expect(await aws.bucketVersioning("stackd-sample-prod-data")).toBe("Enabled");
    expect(await aws.queueRetention("stackd-sample-prod-jobs")).toBe(1209600);
    expect(await aws.parameter("/stackd-sample/dev/queue-url")).toMatch(/stackd-sample-dev-jobs$/);
  });

  it("a second reconcile of the same revision changes nothing", async () => {
    const report = await run();
    for (const s of report.stacks) {
      expect(s.status).toBe("unchanged");
      expect(s.changes).toEqual({ create: 0, update: 0, replace: 0, delete: 0, same: 3 });
    }
  });

  it("a commit changing one tag updates exactly that resource, and git revert restores it", async () => {
    const devConfig = repo.read("stacks/Pulumi.dev.yaml");
    repo.commit({ "stacks/Pulumi.dev.yaml": devConfig.replace("dataClass: internal", "dataClass: confidential") }, "classify dev data");
    const report = await run();
    const dev = stack(report, "dev");
    expect(dev.status, dev.error ?? "").toBe("applied");
    expect(changed(dev)).toEqual([{ type: "Bucket", op: "update", properties: ["tags.dataClass"] }]);
    expect(dev.changes).toEqual({ create: 0, update: 1, replace: 0, delete: 0, same: 2 });
    expect(stack(report, "prod").status).toBe("unchanged");
    expect((await aws.bucketTags("stackd-sample-dev-data")).dataClass).toBe("confidential");

    repo.git("revert", "--no-edit", "HEAD");
    const reverted = await run();
    expect(changed(stack(reverted, "dev"))).toEqual([{ type: "Bucket", op: "update", properties: ["tags.dataClass"] }]);
    expect((await aws.bucketTags("stackd-sample-dev-data")).dataClass).toBe("internal");
  });

  it("a stack config Pulumi rejects fails that stack with the file named, while the other stack applies", async () => {
    const prodConfig = repo.read("stacks/Pulumi.prod.yaml");
    const devConfig = repo.read("stacks/Pulumi.dev.yaml");
    repo.commit(
      {
        "stacks/Pulumi.prod.yaml": `${prodConfig}  sample-infra:bad:key: 1\n`,
        "stacks/Pulumi.dev.yaml": devConfig.replace('retentionSeconds: "345600"', 'retentionSeconds: "432000"'),
      },
      "break prod config, change dev retention",
    );
    const report = await run();
    const prod = stack(report, "prod");
    expect(prod.status).toBe("failed");
    expect(prod.error).toMatch(/^stacks\/Pulumi\.prod\.yaml: .*sample-infra:bad:key/);
    const dev = stack(report, "dev");
    expect(dev.status, dev.error ?? "").toBe("applied");
    expect(changed(dev)).toEqual([{ type: "Queue", op: "update", properties: ["messageRetentionSeconds"] }]);
    expect(await aws.queueRetention("stackd-sample-dev-jobs")).toBe(432000);
    repo.commit({ "stacks/Pulumi.prod.yaml": prodConfig }, "fix prod config");
  });

  it("TypeScript that does not compile fails its stacks with file, line and the compiler's message", async () => {
    const program = repo.read("infra/index.ts");
    repo.commit({ "infra/index.ts": `${program}\nconst broken: number = "not a number";\n` }, "break the program");
    const report = await run();
    for (const s of report.stacks) {
      expect(s.status).toBe("failed");
      expect(s.error).toMatch(/^infra\/index\.ts:\d+:\d+: TypeScript does not compile: .*not assignable to type 'number'/);
    }
    expect(await aws.bucketExists("stackd-sample-dev-data")).toBe(true);
    repo.commit({ "infra/index.ts": program }, "fix the program");
    const fixed = await run();
    expect(fixed.stacks.map((s) => s.status)).toEqual(["unchanged", "unchanged"]);
  });

  it("invalid YAML and a missing program are reported per stack without running the engine", async () => {
    const prodConfig = repo.read("stacks/Pulumi.prod.yaml");
    repo.commit({ "stacks/Pulumi.prod.yaml": `${prodConfig}  oops: [\n`, "tools/Pulumi.yaml": "name: tools\nruntime: nodejs\nmain: missing.ts\n", "tools/Pulumi.ci.yaml": "" }, "bad input");
    const report = await run();
    expect(stack(report, "prod").error).toMatch(/^stacks\/Pulumi\.prod\.yaml: invalid YAML at line \d+/);
    expect(stack(report, "ci").error).toMatch(/^tools\/Pulumi\.yaml: program not found: tools\/missing\.ts does not exist/);
    expect(stack(report, "dev").status).toBe("unchanged");
  });
});
