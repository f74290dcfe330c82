import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { discoverStacks } from "../src/catalog/index.ts";
import { createSampleRepo } from "./testkit/sample-repo.ts";

function tree(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stackd-catalog-"));
  for (const [f, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), content);
  }
  return dir;
}

describe("discoverStacks", () => {
  it("finds the sample's stacks in its stackConfigDir", () => {
    const repo = createSampleRepo();
    const stacks = discoverStacks(repo.dir);
    expect(stacks.map((s) => [s.project, s.stack, s.configFile, s.error])).toEqual([
      ["sample-infra", "dev", "stacks/Pulumi.dev.yaml", undefined],
      ["sample-infra", "prod", "stacks/Pulumi.prod.yaml", undefined],
    ]);
  });

  it("finds nested projects with stack files beside Pulumi.yaml and skips node_modules", () => {
    const dir = tree({
      "net/Pulumi.yaml": "name: net\nruntime: nodejs\n",
      "net/index.ts": "",
      "net/Pulumi.staging.yaml": "config: {}\n",
      "net/Pulumi.empty.yaml": "",
      "node_modules/pkg/Pulumi.yaml": "name: vendored\nruntime: nodejs\n",
      "node_modules/pkg/Pulumi.x.yaml": "",
    });
    expect(discoverStacks(dir).map((s) => `${s.project}/${s.stack}@${s.projectDir}:${s.error ?? "ok"}`)).toEqual([
      "net/empty@net:ok",
      "net/staging@net:ok",
    ]);
  });

  it("names the file and line of invalid YAML in a stack config, leaving the other stacks runnable", () => {
    const dir = tree({
      "Pulumi.yaml": "name: app\nruntime: nodejs\n",
      "index.ts": "",
      "Pulumi.dev.yaml": "config:\n  app:size: 1\n",
      "Pulumi.prod.yaml": "config:\n  app:size: [1, 2\n  app:x: y\n",
    });
    const [dev, prod] = discoverStacks(dir);
    expect(dev!.error).toBeUndefined();
    expect(prod!.error).toBe("Pulumi.prod.yaml: invalid YAML at line 3: Flow sequence in block collection must be sufficiently indented and end with a ]");
  });

  it("reports a project file that fails the schema with the field at fault", () => {
    const dir = tree({ "svc/Pulumi.yaml": "runtime: nodejs\n", "svc/Pulumi.dev.yaml": "" });
    const [entry] = discoverStacks(dir);
    expect(entry!.stack).toBe("*");
    expect(entry!.error).toBe("svc/Pulumi.yaml: field name: Invalid input: expected string, received undefined");
  });

  it("reports a missing program against Pulumi.yaml for every stack of the project", () => {
    const dir = tree({
      "Pulumi.yaml": "name: app\nruntime: nodejs\nmain: src/\n",
      "Pulumi.a.yaml": "",
      "Pulumi.b.yaml": "",
    });
    const errors = discoverStacks(dir).map((s) => s.error);
    expect(errors).toHaveLength(2);
    expect(errors).toEqual(Array(2).fill("Pulumi.yaml: program not found: src does not exist (check `main` in Pulumi.yaml)"));
  });
});
