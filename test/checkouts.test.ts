import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { GitSource } from "../src/source/index.ts";
import { createSampleRepo } from "./testkit/sample-repo.ts";

const tmp = (name: string) => fs.mkdtempSync(path.join(os.tmpdir(), `stackd-${name}-`));

describe("run checkouts", () => {
  it("reuse a few stable directories across revisions, never sharing one between two revisions at once", async () => {
    const repo = createSampleRepo();
    const first = repo.head();
    const second = repo.commit({ "infra/extra.ts": "export const extra = 1;\n" }, "add a file");
    repo.git("rm", "-q", "infra/extra.ts");
    repo.git("commit", "-qm", "remove it again");
    const third = repo.head();
    const dataDir = tmp("checkouts");
    const source = new GitSource(repo.dir, dataDir);
    await source.fetch();
    const head = (dir: string) => repo.git("-C", dir, "rev-parse", "HEAD");

    // Two revisions at once: two directories; a third lease of a held revision shares its directory.
    const a = await source.lease(first);
    const b = await source.lease(second);
    const a2 = await source.lease(first);
    expect(new Set([a.dir, b.dir]).size).toBe(2);
    expect(a2.dir).toBe(a.dir);
    expect(a2.key).toBe(a.key);
    expect(head(a.dir)).toBe(first);
    expect(head(b.dir)).toBe(second);
    expect(fs.existsSync(path.join(b.dir, "infra", "extra.ts"))).toBe(true);
    // A file a run leaves behind (an installed dependency, a build output).
    fs.writeFileSync(path.join(b.dir, "infra", "leftover.js"), "leftover\n");

    // Released, the directory last used for a revision is taken again for it, untouched.
    b.release();
    const b2 = await source.lease(second);
    expect(b2.dir).toBe(b.dir);
    expect(b2.key).toBe(b.key);
    expect(fs.existsSync(path.join(b2.dir, "infra", "leftover.js"))).toBe(true);
    b2.release();

    // A new revision moves an idle directory: tracked and untracked files follow it, the path stays.
    const c = await source.lease(third);
    expect(c.dir).toBe(b.dir);
    expect(c.key).not.toBe(b.key);
    expect(head(c.dir)).toBe(third);
    expect(fs.existsSync(path.join(c.dir, "infra", "extra.ts"))).toBe(false);
    expect(fs.existsSync(path.join(c.dir, "infra", "leftover.js"))).toBe(false);
    a.release();
    a2.release();
    c.release();
    expect(fs.readdirSync(path.dirname(a.dir)).filter((n) => /^\d+$/.test(n))).toHaveLength(2);

    // Another live process's claim is respected; a dead one's is taken over.
    const other = spawn("sleep", ["30"]);
    try {
      for (const dir of [a.dir, b.dir]) fs.writeFileSync(`${dir}.lock`, String(other.pid));
      const d = await source.lease(first);
      expect([a.dir, b.dir]).not.toContain(d.dir);
      expect(head(d.dir)).toBe(first);
      d.release();
      fs.writeFileSync(`${d.dir}.lock`, String(other.pid));
      fs.writeFileSync(`${a.dir}.lock`, "999999");
      const e = await source.lease(first);
      expect(e.dir).toBe(a.dir);
      e.release();

      // Another process moved that slot away and back: its contents were replaced, so its key is new.
      const record = JSON.parse(fs.readFileSync(`${a.dir}.revision`, "utf8"));
      fs.writeFileSync(`${a.dir}.revision`, JSON.stringify({ ...record, id: "replaced-by-another-process" }));
      const f = await source.lease(first);
      expect(f.dir).toBe(a.dir);
      expect(f.key).not.toBe(e.key);
      f.release();
    } finally {
      other.kill();
    }
  });
});
