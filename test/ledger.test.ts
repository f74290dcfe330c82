import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { describe, expect, it } from "vitest";
import { MIGRATIONS, asyncLedger, openLedgerStore, stackStatuses } from "../src/ledger/index.ts";

const FIXTURE = path.join(import.meta.dirname, "fixtures", "ledger-0.1.0.db");

/** A data dir holding a copy of the ledger stackd 0.1.0 wrote (before schema versions existed). */
function oldDataDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stackd-old-ledger-"));
  fs.copyFileSync(FIXTURE, path.join(dir, "ledger.db"));
  return dir;
}

describe("ledger migrations", () => {
  it("a ledger written by stackd 0.1.0 opens at the newest schema and keeps every row", async () => {
    const ledger = openLedgerStore(oldDataDir());
    try {
      expect(ledger.schemaVersion).toBe(MIGRATIONS.length);
      expect(ledger.runs.list().map((r) => [r.id, r.stack, r.kind, r.status, r.runtime, r.plugins])).toEqual([
        ["run_mwtddvq9681c1a", "sample-infra/dev", "refresh", "succeeded", null, null],
        ["run_mwtddvq92ba9ab", "sample-infra/prod", "preview", "awaiting_approval", null, null],
        ["run_mwtddvq74e7985", "sample-infra/dev", "up", "succeeded", null, null],
      ]);
      expect(ledger.runs.get("run_mwtddvq74e7985")).toMatchObject({ log: "applied\n", changes: { create: 3, update: 0, replace: 0, delete: 0, same: 0 } });
      expect(ledger.stacks.list().map((s) => [s.name, s.appliedRevision, s.stateVersion, s.applyMode])).toEqual([
        ["sample-infra/dev", "1111111111111111111111111111111111111111", 1, "auto"],
        ["sample-infra/prod", null, 0, "manual"],
      ]);
      expect(ledger.drift.list().map((d) => [d.stack, d.status, d.timesSeen, d.resources[0]!.drift])).toEqual([
        ["sample-infra/dev", "open", 1, [{ path: "tags.owner", declared: "platform-team", actual: "someone" }]],
      ]);
      expect(ledger.previews.list().map((p) => [p.id, p.pr, p.status, p.markdown])).toEqual([["preview_mwtddvqg2ac0b7", 7, "completed", "## stackd preview\n"]]);
      expect(JSON.parse(ledger.meta.get("head")!)).toEqual({ branch: "main", revision: "1111111111111111111111111111111111111111" });
      // The health a drift check recorded is part of what `stackd status --data-dir` shows.
      expect((await stackStatuses(asyncLedger(ledger), null)).map((s) => [s.name, s.health])).toEqual([
        ["sample-infra/dev", "Drifted"],
        ["sample-infra/prod", "Unknown"],
      ]);
      // The new columns take values.
      const run = ledger.runs.create({ stack: "sample-infra/dev", revision: "3".repeat(40), kind: "up", trigger: "api" });
      ledger.runs.finish(run.id, { status: "succeeded", runtime: "nodejs", plugins: [{ kind: "resource", name: "random", version: "4.18.2", sha256: "ab".repeat(32) }] });
      expect(ledger.runs.get(run.id)).toMatchObject({ runtime: "nodejs", plugins: [{ kind: "resource", name: "random", version: "4.18.2", sha256: "ab".repeat(32) }] });
    } finally {
      ledger.close();
    }
  });

  it("each migration runs once: reopening changes nothing, and the version is recorded in the file", () => {
    const dir = oldDataDir();
    openLedgerStore(dir).close();
    const db = new DatabaseSync(path.join(dir, "ledger.db"));
    expect((db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version).toBe(MIGRATIONS.length);
    db.close();
    const again = openLedgerStore(dir);
    expect([again.schemaVersion, again.runs.list().length]).toEqual([MIGRATIONS.length, 3]);
    again.close();
  });

  it("a ledger from a newer stackd is refused with what to do, and left untouched", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stackd-new-ledger-"));
    const db = new DatabaseSync(path.join(dir, "ledger.db"));
    db.exec("PRAGMA user_version = 99");
    db.close();
    expect(() => openLedgerStore(dir)).toThrow(`the ledger is at schema version 99, newer than this stackd knows (${MIGRATIONS.length}): use a newer stackd`);
  });
});

describe("stackd status and runs on a data dir", () => {
  it("read the ledger of an earlier stackd, health included", async () => {
    const { execFile } = await import("node:child_process");
    const { promisify } = await import("node:util");
    const stackd = (...args: string[]) => promisify(execFile)(process.execPath, [path.join(import.meta.dirname, "..", "bin", "stackd.js"), ...args]);
    const dir = oldDataDir();
    const status = await stackd("status", "--data-dir", dir);
    expect(status.stdout.split("\n")).toEqual([
      "STACK              SYNC       HEALTH   APPLIED       HEAD          MODE    CONDITIONS        LAST RUN",
      "sample-infra/dev   Synced     Drifted  111111111111  111111111111  auto    Ready             run_mwtddvq9681c1a refresh succeeded",
      "sample-infra/prod  OutOfSync  Unknown  -             111111111111  manual  AwaitingApproval  run_mwtddvq92ba9ab preview awaiting_approval",
      "",
    ]);
    const runs = await stackd("runs", "--data-dir", dir, "--format", "json");
    expect((JSON.parse(runs.stdout) as { runs: { id: string }[] }).runs.map((r) => r.id)).toEqual(["run_mwtddvq9681c1a", "run_mwtddvq92ba9ab", "run_mwtddvq74e7985"]);
  });
});

describe("stack statuses", () => {
  it("each stack's status sees its own newest runs, newest first, and its own drift check", async () => {
    const ledger = openLedgerStore(fs.mkdtempSync(path.join(os.tmpdir(), "stackd-statuses-")));
    try {
      for (const name of ["p/a", "p/b", "p/c"]) ledger.stacks.upsert({ name, project: "p", stack: name.slice(2), applyMode: "auto" });
      const runs = (stack: string, n: number) =>
        Array.from({ length: n }, () => ledger.runs.create({ stack, revision: "1".repeat(40), kind: "up", trigger: "poll" }).id);
      const a = runs("p/a", 12);
      const b = runs("p/b", 1);
      ledger.runs.finish(a.at(-1)!, { status: "failed", error: "boom", log: "a long engine log" });
      ledger.stacks.recordOutcome("p/a", { failed: true, result: "failed" });
      ledger.drift.recordCheck("p/b", "2026-01-01T00:00:00.000Z", true);
      const [sa, sb, sc] = await stackStatuses(asyncLedger(ledger), "1".repeat(40));
      expect([sa!.lastRun?.id, sa!.reason, sa!.conditions]).toEqual([a.at(-1), "boom", ["Reconciling", "Failing"]]);
      expect(ledger.runs.recent(10).get("p/a")?.map((r) => r.id)).toEqual(a.slice(2).reverse());
      expect([sb!.lastRun?.id, sb!.health, sb!.lastDriftCheck]).toEqual([b[0], "Drifted", "2026-01-01T00:00:00.000Z"]);
      expect([sc!.lastRun, sc!.health]).toEqual([null, "Unknown"]);
      // Lists leave the log out; a run by its id has it.
      expect("log" in sa!.lastRun!).toBe(false);
      expect(ledger.runs.get(a.at(-1)!)?.log).toBe("a long engine log");
      // Pages of a stack's runs (the dashboard shows 20 a page): newest first, none twice.
      const page = (n: number) => ledger.runs.list({ stack: "p/a", limit: 5, offset: (n - 1) * 5 }).map((r) => r.id);
      expect([page(1), page(2), page(3)]).toEqual([a.slice(7).reverse(), a.slice(2, 7).reverse(), a.slice(0, 2).reverse()]);
      // A rejected preview keeps who rejected it.
      const preview = ledger.runs.create({ stack: "p/b", revision: "2".repeat(40), kind: "preview", trigger: "poll", status: "awaiting_approval" });
      ledger.approvals.reject(preview.id, "owner");
      expect([ledger.runs.get(preview.id)?.status, ledger.runs.get(preview.id)?.error]).toEqual(["rejected", "rejected by owner"]);
    } finally {
      ledger.close();
    }
  });
});

describe("ledger version", () => {
  it("changes with every write, this connection's or another's, and only then", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stackd-version-"));
    const ledger = openLedgerStore(dir);
    const cli = openLedgerStore(dir);
    try {
      const v0 = ledger.version();
      ledger.stacks.list();
      expect(ledger.version()).toBe(v0);
      ledger.stacks.upsert({ name: "p/a", project: "p", stack: "a", applyMode: "auto" });
      const v1 = ledger.version();
      expect(v1).not.toBe(v0);
      cli.stacks.recordOutcome("p/a", { failed: true, result: "failed" });
      expect(ledger.version()).not.toBe(v1);
    } finally {
      ledger.close();
      cli.close();
    }
  });
});

describe("stackd ledger export | stackd ledger import", () => {
  const BIN = path.join(import.meta.dirname, "..", "bin", "stackd.js");
  const sh = async (script: string) => {
    const { execFile } = await import("node:child_process");
    return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile("bash", ["-c", script], { env: { ...process.env, STACKD: `${process.execPath} ${BIN}` } }, (err, stdout, stderr) =>
        resolve({ code: (err as { code?: number } | null)?.code ?? 0, stdout, stderr }),
      );
    });
  };
  /** Every table's rows, by table, as the ledger holds them. */
  const everything = (dir: string) => {
    const ledger = openLedgerStore(dir);
    try {
      return [...ledger.dump()];
    } finally {
      ledger.close();
    }
  };

  it("moves every row into a new data dir through a pipe, all or nothing", async () => {
    const from = oldDataDir();
    // Rows of every table: the fixture's, and more written by this stackd.
    const ledger = openLedgerStore(from);
    const run = ledger.runs.create({ stack: "sample-infra/dev", revision: "2".repeat(40), kind: "up", trigger: "api", requestedBy: "owner" });
    ledger.runs.finish(run.id, { status: "succeeded", log: "a log with \"quotes\"\nand lines\n", plan: { digest: "ab".repeat(32), checkpoint: "cd".repeat(32) } });
    ledger.previews.create({ repo: "team/infra", pr: 7, head: "3".repeat(40), base: "main" });
    ledger.deliveries.accept("delivery-1");
    ledger.close();
    const before = everything(from);
    expect(new Set(before.map((r) => r.table))).toEqual(new Set(["stacks", "runs", "drift", "drift_checks", "previews", "meta", "deliveries"]));

    const to = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "stackd-moved-")), "my data dir");
    const moved = await sh(`$STACKD ledger export --data-dir '${from}' | $STACKD ledger import --data-dir '${to}'`);
    expect(moved.code, moved.stderr).toBe(0);
    const all = "2 stacks, 4 runs, 1 drift, 1 drift_checks, 2 previews, 1 meta, 1 deliveries";
    expect(moved.stderr.split("\n")).toEqual([`stackd: exported ${all} from ${path.join(from, "ledger.db")}`, `stackd: imported ${all} into ${path.join(to, "ledger.db")}`, ""]);
    expect(everything(to)).toEqual(before);
    const movedLedger = openLedgerStore(to);
    expect(movedLedger.runs.get(run.id)).toMatchObject({ log: "a log with \"quotes\"\nand lines\n", planDigest: "ab".repeat(32), requestedBy: "owner" });
    movedLedger.close();

    // Refused, and nothing changes: a ledger that holds runs, a cut-off export, a bad line, a column from a newer stackd.
    const again = await sh(`$STACKD ledger export --data-dir '${from}' | $STACKD ledger import --data-dir '${to}'`);
    expect([again.code, again.stderr.trim().split("\n").at(-1)]).toEqual([1, `stackd: error: ${path.join(to, "ledger.db")}: the ledger already holds 2 stacks, 4 runs, 1 drift, 1 drift_checks, 2 previews, 1 deliveries: import into a new data dir`]);
    const fresh = () => fs.mkdtempSync(path.join(os.tmpdir(), "stackd-refused-"));
    const cut = fresh();
    const cutOff = await sh(`$STACKD ledger export --data-dir '${from}' | head -n 5 | $STACKD ledger import --data-dir '${cut}'`);
    expect([cutOff.code, cutOff.stderr.trim().split("\n").at(-1)]).toEqual([2, "stackd: error: stdin: the export ends at line 5 without its last line (it was cut off): nothing was imported"]);
    expect(everything(cut).filter((r) => r.table !== "meta")).toEqual([]);
    const file = path.join(fresh(), "export.jsonl");
    await sh(`$STACKD ledger export --data-dir '${from}' > '${file}'`);
    const lines = fs.readFileSync(file, "utf8").split("\n");
    fs.writeFileSync(file, [...lines.slice(0, 2), "{not json", ...lines.slice(3)].join("\n"));
    const bad = await sh(`$STACKD ledger import --data-dir '${fresh()}' --file '${file}'`);
    expect(bad.stderr.trim()).toMatch(new RegExp(`^stackd: error: ${file.replace(/[.]/g, "\\.")}: line 3: not JSON`));
    const newer = lines.map((l, i) => (i === 3 ? l.replace('"row":{', '"row":{"bogus":1,') : l));
    fs.writeFileSync(file, newer.join("\n"));
    const unknown = await sh(`$STACKD ledger import --data-dir '${fresh()}' --file '${file}'`);
    expect(unknown.stderr.trim()).toMatch(/: line 4: table \w+ has no column bogus: the export is from a newer stackd$/);
  });
});
