// The ledger's contract, held by both stores: the embedded SQLite file and a
// real PostgreSQL (a throwaway cluster from Debian's server).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MIGRATIONS, PG_MIGRATIONS, asyncLedger, openLedgerStore, openPostgresLedger, stackStatuses, type Ledger, type LedgerRow } from "../src/ledger/index.ts";
import { recordDriftCheck } from "../src/drift/index.ts";
import { startPostgres, type Postgres } from "./testkit/postgres.ts";

let postgres: Postgres;
const opened: Ledger[] = [];

const sqlite = () => {
  const ledger = asyncLedger(openLedgerStore(fs.mkdtempSync(path.join(os.tmpdir(), "stackd-store-"))));
  opened.push(ledger);
  return ledger;
};
let databases = 0;
const postgresLedger = () => {
  const ledger = openPostgresLedger(postgres.createDatabase(`ledger_${++databases}`));
  opened.push(ledger);
  return ledger;
};

beforeAll(async () => {
  postgres = await startPostgres();
});

afterAll(async () => {
  for (const l of opened) await l.close().catch(() => {});
  await postgres?.stop();
});

/**
 * One life of a ledger through the contract: stacks, runs queued, started and
 * finished, coalesced and approved, a drift episode, previews, facts,
 * deliveries. What it returns is everything the stores answered, ids
 * replaced by their order of appearance.
 */
async function life(ledger: Ledger): Promise<unknown> {
  const rev = (n: number) => String(n).repeat(40);
  await ledger.stacks.upsert({ name: "p/dev", project: "p", stack: "dev", applyMode: "auto" });
  await ledger.stacks.upsert({ name: "p/prod", project: "p", stack: "prod", applyMode: "manual" });
  const up = await ledger.runs.create({ stack: "p/dev", revision: rev(1), kind: "up", trigger: "poll", requestedBy: "ci" });
  await ledger.runs.start(up.id, 0);
  await ledger.runs.finish(up.id, { status: "succeeded", changes: { create: 3, update: 0, replace: 0, delete: 0, same: 0 }, log: "applied\n", runtime: "nodejs" });
  await ledger.stacks.recordOutcome("p/dev", { applied: rev(1), stateChanged: true, failed: false, result: "succeeded" });
  const preview = await ledger.runs.create({ stack: "p/prod", revision: rev(1), kind: "preview", trigger: "poll" });
  await ledger.runs.finish(preview.id, { status: "awaiting_approval", plan: { digest: "ab".repeat(32), checkpoint: "cd".repeat(32) } });
  const pending = (await ledger.approvals.pending("p/prod")).map((r) => r.id);
  await ledger.approvals.approve(preview.id, "owner");
  const failed = await ledger.runs.create({ stack: "p/dev", revision: rev(2), kind: "up", trigger: "webhook" });
  await ledger.runs.finish(failed.id, { status: "failed", error: "boom" });
  await ledger.stacks.recordOutcome("p/dev", { failed: true, failures: 1, result: "failed", retryAt: "2026-01-01T00:00:00.000Z" });
  const queued = await ledger.runs.create({ stack: "p/dev", revision: rev(3), kind: "up", trigger: "poll" });
  await ledger.runs.setStatus(queued.id, "skipped", "coalesced");
  const running = await ledger.runs.create({ stack: "p/prod", revision: rev(3), kind: "up", trigger: "api" });
  await ledger.runs.start(running.id, 1);
  const interrupted = (await ledger.runs.interruptRunning("interrupted: stopped")).map((r) => r.id);
  const drifted = [{ urn: "urn:pulumi:dev::p::b::data", type: "b", op: "drift" as const, properties: ["tags.owner"], drift: [{ path: "tags.owner", declared: "a", actual: "b" }] }];
  const transitions = [];
  for (const d of [drifted, drifted, []]) transitions.push((await recordDriftCheck(ledger.drift, "p/dev", { revision: rev(1), runId: up.id, drifted: d })).transition);
  const pr = await ledger.previews.create({ repo: "team/infra", pr: 7, head: rev(4), base: "main" });
  await ledger.previews.update(pr.id, { status: "completed", markdown: "## plan\n", checkRunId: 12, commentId: 34 });
  await ledger.meta.set("head", JSON.stringify({ branch: "main", revision: rev(1) }));
  const deliveries = [await ledger.deliveries.accept("d-1"), await ledger.deliveries.accept("d-1")];
  const versionMoves = (await ledger.version()) !== (await (async () => (await ledger.meta.delete("nothing"), ledger.runs.create({ stack: "p/dev", revision: rev(5), kind: "refresh", trigger: "schedule" })))().then(() => ledger.version()));

  const ids = new Map<string, string>();
  const stable = (v: unknown): unknown =>
    JSON.parse(JSON.stringify(v), (key, value) => {
      if (typeof value === "string" && /^(run|drift|preview)_/.test(value)) return ids.get(value) ?? (ids.set(value, `#${ids.size}`), `#${ids.size - 1}`);
      // Times differ between two lives; the retry time was given, so it stays.
      if (/At$|^(firstSeen|lastSeen|lastDriftCheck)$/.test(key) && key !== "retryAt" && typeof value === "string") return "<time>";
      return value;
    });
  return stable({
    pending,
    interrupted,
    transitions,
    deliveries,
    versionMoves,
    runs: await ledger.runs.list({ limit: 100 }),
    page2: (await ledger.runs.list({ stack: "p/dev", limit: 2, offset: 1 })).map((r) => r.id),
    recent: [...(await ledger.runs.recent(2))],
    latest: await ledger.runs.latest("p/dev", rev(1)),
    upWithLog: await ledger.runs.get(up.id),
    stacks: await ledger.stacks.list(),
    statuses: await stackStatuses(ledger, rev(1)),
    drift: await ledger.drift.list({ stack: "p/dev" }),
    checks: [...(await ledger.drift.lastChecks())].map(([s, c]) => [s, c.drifted]),
    previews: await ledger.previews.list({ pr: 7 }),
    head: await ledger.meta.get("head"),
  });
}

describe("the ledger's two stores", () => {
  it("answer the same life the same way: SQLite and PostgreSQL", async () => {
    const [fromSqlite, fromPostgres] = [await life(sqlite()), await life(postgresLedger())];
    expect(fromPostgres).toEqual(fromSqlite);
    // The life did what it says: the contract is not trivially equal.
    expect(fromSqlite).toMatchObject({ transitions: ["detected", "seen-again", "resolved"], deliveries: [true, false], versionMoves: true, pending: [expect.stringMatching(/^#\d+$/)] });
  });

  it("an export of one imports into the other, every row kept", async () => {
    const from = sqlite();
    await life(from);
    const rows: LedgerRow[] = [];
    for await (const row of from.dump()) rows.push(row);
    const to = postgresLedger();
    const restore = await to.restore();
    for (const row of rows) await restore.add(row);
    const counts = await restore.commit();
    expect(counts).toEqual({ stacks: 2, runs: 6, drift: 1, drift_checks: 1, previews: 1, meta: 1, deliveries: 1 });
    const back: LedgerRow[] = [];
    for await (const row of to.dump()) back.push(row);
    const key = (r: LedgerRow) => `${r.table} ${JSON.stringify(r.row)}`;
    expect(back.map(key).sort()).toEqual(rows.map(key).sort());
    // New runs continue the imported order.
    const next = await to.runs.create({ stack: "p/dev", revision: "9".repeat(40), kind: "up", trigger: "api" });
    expect((await to.runs.list({ limit: 1 }))[0]!.id).toBe(next.id);
    // A second import into a ledger that holds runs is refused, and nothing changes.
    await expect(to.restore()).rejects.toThrow(/the ledger already holds 2 stacks, 7 runs, 1 drift, 1 drift_checks, 1 previews, 1 deliveries: import into a new database/);
  });

  it("replicas starting together migrate once, under the advisory lock", async () => {
    const url = postgres.createDatabase("replicas");
    const replicas = Array.from({ length: 4 }, () => openPostgresLedger(url));
    opened.push(...replicas);
    await Promise.all(replicas.map((r) => r.stacks.list()));
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const steps = (await client.query("SELECT step FROM stackd_schema ORDER BY step")).rows.map((r) => r.step as number);
    await client.end();
    expect(steps).toEqual(PG_MIGRATIONS.map((_, i) => i + 1));
  });
});

describe("a service and the CLI on PostgreSQL", () => {
  it("stackd ledger import --database takes a SQLite export; runs, status and migrate read it; other URLs are refused", async () => {
    const { runStackd } = await import("./testkit/cli.ts");
    const from = fs.mkdtempSync(path.join(os.tmpdir(), "stackd-to-pg-"));
    fs.copyFileSync(path.join(import.meta.dirname, "fixtures", "ledger-0.1.0.db"), path.join(from, "ledger.db"));
    const url = postgres.createDatabase("moved");
    const file = path.join(from, "export.jsonl");
    const exported = await runStackd(["ledger", "export", "--data-dir", from]);
    fs.writeFileSync(file, exported.stdout);
    const imported = await runStackd(["ledger", "import", "--database", url, "--file", file]);
    expect([imported.code, imported.stderr.trim()]).toEqual([0, `stackd: imported 2 stacks, 3 runs, 1 drift, 1 drift_checks, 1 previews, 1 meta, 0 deliveries into ${url}`]);
    const runs = await runStackd(["runs", "--database", url, "--format", "json"]);
    expect((JSON.parse(runs.stdout) as { runs: { id: string }[] }).runs.map((r) => r.id)).toEqual(["run_mwtddvq9681c1a", "run_mwtddvq92ba9ab", "run_mwtddvq74e7985"]);
    const status = await runStackd(["status", "--database", url]);
    expect(status.stdout).toContain("sample-infra/dev   Synced     Drifted");
    const migrate = await runStackd(["migrate", "--database", url]);
    expect(migrate.stderr.trim()).toBe(`stackd: ${url} is at ledger schema ${MIGRATIONS.length} (2 stacks)`);
    const wrong = await runStackd(["status", "--database", "mysql://root:hunter2@db/stackd"]);
    expect([wrong.code, wrong.stderr.trim()]).toEqual([2, 'stackd: error: --database: "mysql://root:***@db/stackd" is not a PostgreSQL URL: use postgres://user:password@host:5432/database']);
  });

  it("stackd serve --database applies the sample stacks with its runs in PostgreSQL, and never prints the password", async () => {
    const { spawnServe } = await import("./testkit/cli.ts");
    const { startEmulator } = await import("./testkit/emulator.ts");
    const { createSampleRepo } = await import("./testkit/sample-repo.ts");
    const { freePort } = await import("./testkit/emulator.ts");
    const emu = await startEmulator();
    const repo = createSampleRepo();
    const password = "pw-canary-7c1e9b";
    const url = postgres.createDatabase("served").replace("stackd@", `stackd:${password}@`);
    const port = await freePort();
    const svc = spawnServe(["--repo", repo.dir, "--data-dir", fs.mkdtempSync(path.join(os.tmpdir(), "stackd-pg-serve-")), "--port", String(port), "--database", url], {
      ...emu.env,
      STACKD_API_TOKEN: "stackd_pg-test-token",
    });
    try {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      const applied = async () => (await client.query("SELECT stack, kind, status FROM runs ORDER BY stack")).rows;
      for (let i = 0; ; i++) {
        const rows = await applied().catch(() => []);
        if (rows.length === 2 && rows.every((r) => r.status === "succeeded")) break;
        if (i > 900) throw new Error(`the stacks were not applied: ${JSON.stringify(rows)}\n${svc.output()}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(await applied()).toEqual([
        { stack: "sample-infra/dev", kind: "up", status: "succeeded" },
        { stack: "sample-infra/prod", kind: "up", status: "succeeded" },
      ]);
      // The service's own connections, as PostgreSQL counts them: the ledger's pool keeps at most 5,
      // the shared queue 3, the replica's own table and locks 2, the try for the lead 1.
      const connections = Number((await client.query("SELECT count(*) AS n FROM pg_stat_activity WHERE application_name LIKE 'stackd %'")).rows[0].n);
      console.log(`connections of one stackd serve: ${connections}`);
      expect(connections).toBeGreaterThanOrEqual(2);
      expect(connections).toBeLessThanOrEqual(11);
      const stacks = (await (await fetch(`http://127.0.0.1:${port}/api/stacks`, { headers: { authorization: "Bearer stackd_pg-test-token" } })).json()) as { stacks: { sync: string }[] };
      expect(stacks.stacks.map((s) => s.sync)).toEqual(["Synced", "Synced"]);
      await client.end();
    } finally {
      await svc.stop();
      await emu.stop();
    }
    expect(svc.output()).not.toContain(password);
    expect(svc.output()).toContain("stackd listening");
  });
});
