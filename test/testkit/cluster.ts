// Several `stackd serve` replicas as processes of their own against one
// PostgreSQL database and one shared state backend, for the cluster tests and
// bench/replicas.ts: a throwaway cluster, a repository of N sample stacks
// served over git://, the replicas, and what the ledger and the database say.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, afterEach, beforeAll } from "vitest";
import YAML from "yaml";
import type { Run } from "../../src/ledger/index.ts";
import { githubSignature } from "../../src/server/index.ts";
import { installRoot } from "../../src/support/index.ts";
import { freePort, startEmulator, type Emulator } from "./emulator.ts";
import { processesUnder } from "./processes.ts";
import { startPostgres, type Postgres } from "./postgres.ts";
import { servedSampleRepo, waitFor, WEBHOOK_SECRET } from "./service.ts";
import type { SampleRepo } from "./sample-repo.ts";

/** The API token every replica accepts (STACKD_API_TOKEN), and the passphrase they share for the file backend's secrets. */
export const CLUSTER_TOKEN = "stackd_cluster-test-token-4d2b";
export const CLUSTER_PASSPHRASE = "cluster-test-passphrase-88e1";

/** A run as a replica's API answers it: the ledger's run and the replica that executed it. */
export type ClusterRun = Run & { replica: string | null };

/** One live replica as GET /api/replicas lists it. */
export interface ReplicaInfo {
  id: string;
  name: string;
  host: string;
  pid: number;
  startedAt: string;
  heartbeatAt: string;
  leader: boolean;
  running: { run: string; stack: string; kind: string; startedAt: string | null }[];
}

export interface ReplicasAnswer {
  leaseSeconds: number;
  replicas: ReplicaInfo[];
}

/** What every cluster test shares: one PostgreSQL cluster (a database per test) and one emulator. */
export interface ClusterKit {
  postgres: Postgres;
  emu: Emulator;
  stop(): Promise<void>;
}

export async function startClusterKit(): Promise<ClusterKit> {
  const [postgres, emu] = await Promise.all([startPostgres(), startEmulator()]);
  return {
    postgres,
    emu,
    async stop() {
      await stopAllReplicas();
      await emu.stop();
      await postgres.stop();
    },
  };
}

/**
 * A cluster test file's hooks: one kit for the file; after each test, the
 * replicas it started end (their last lines printed when it failed), then
 * what it handed to `closeAfter` (repositories, database links).
 */
export function clusterSuite(): { kit(): ClusterKit; closeAfter<T extends { stop(): Promise<void> }>(thing: T): T } {
  let kit: ClusterKit | undefined;
  const owned: { stop(): Promise<void> }[] = [];
  beforeAll(async () => {
    kit = await startClusterKit();
  });
  afterEach(async (ctx) => {
    if (ctx.task.result?.state === "fail") {
      for (const r of started) console.log(`--- ${r.name} (${r.id}), full log in ${r.dataDir}.log ---\n${r.output().split("\n").slice(-40).join("\n")}`);
    }
    await stopAllReplicas();
    for (const thing of owned.splice(0).reverse()) await thing.stop();
  });
  afterAll(async () => {
    await kit?.stop();
  });
  return {
    kit: () => kit!,
    closeAfter: (thing) => (owned.push(thing), thing),
  };
}

/** Stack names "<prefix>01" … "<prefix>NN". */
export function stackNames(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${String(i + 1).padStart(2, "0")}`);
}

const DEV_CONFIG = (YAML.parse(fs.readFileSync(path.join(installRoot, "stacks", "Pulumi.dev.yaml"), "utf8")) as { config: Record<string, string> }).config;

/** The path of a stack's config file in the sample project. */
export const stackFile = (stack: string) => `stacks/Pulumi.${stack}.yaml`;

/** A stack's config file: the dev stack's config with `overrides` (keys without the project prefix, e.g. dataClass). */
export function stackConfig(overrides: Record<string, string> = {}): string {
  const config = { ...DEV_CONFIG, ...Object.fromEntries(Object.entries(overrides).map(([k, v]) => [`sample-infra:${k}`, v])) };
  return YAML.stringify({ config });
}

/** The names the sample program gives a stack's resources in the emulator. */
export const bucketOf = (stack: string) => `stackd-sample-${stack}-data`;

export interface ClusterRepo {
  repo: SampleRepo;
  /** The git:// URL the replicas watch. */
  url: string;
  /** Commits files (path -> content) and pushes them to the served repository; the new head. */
  commitAndPush(files: Record<string, string>, message: string): string;
  head(): string;
  stop(): Promise<void>;
}

/**
 * The sample project with exactly these stacks (each the dev stack's config,
 * with its overrides; dev and prod removed) and optionally a stackd.yaml,
 * committed and pushed to a repository served by git daemon.
 */
export async function clusterRepo(o: { stacks: string[]; config?: Record<string, Record<string, string>>; settings?: string }): Promise<ClusterRepo> {
  const files: Record<string, string> = Object.fromEntries(o.stacks.map((s) => [stackFile(s), stackConfig(o.config?.[s])]));
  if (o.settings !== undefined) files["stackd.yaml"] = o.settings;
  const served = await servedSampleRepo(files);
  served.repo.git("rm", "-q", stackFile("dev"), stackFile("prod"));
  served.repo.git("commit", "-qm", "only the cluster's stacks");
  served.push();
  return {
    repo: served.repo,
    url: served.url,
    commitAndPush(files, message) {
      served.repo.commit(files, message);
      return served.push();
    },
    head: () => served.repo.head(),
    stop: () => served.daemon.stop(),
  };
}

/** A `stackd serve` replica: its own process group and data dir. */
export interface Replica {
  name: string;
  /** Its id in the cluster, as runs and GET /api/replicas name it. */
  id: string;
  url: string;
  dataDir: string;
  proc: ChildProcess;
  /** Everything it printed so far (also kept in `<data dir>.log`). */
  output(): string;
  alive(): boolean;
  /** A call to its API with the cluster's token. */
  api(route: string, init?: RequestInit): Promise<Response>;
  json<T>(route: string): Promise<T>;
  runs(): Promise<ClusterRun[]>;
  replicas(): Promise<ReplicasAnswer>;
  /** A signed GitHub push webhook for `revision` on main. */
  pushWebhook(revision: string): Promise<Response>;
  /** kill -9 of the replica as a machine dies: its process group and every process working under its data dir (the engine runs in sessions of its own). */
  kill(): Promise<void>;
}

const started: Replica[] = [];

export interface ReplicaOptions {
  repo: string;
  database: string;
  /** A Pulumi backend URL every replica shares, e.g. file:///tmp/state. */
  backend: string;
  env: Record<string, string>;
  lease?: number;
  pollInterval?: number;
  parallelism?: number;
  /** Further `stackd serve` flags, e.g. ["--grace", "2"]. */
  extraArgs?: string[];
}

/** A fresh shared state backend: a file:// directory. */
export function sharedBackend(): string {
  return `file://${fs.mkdtempSync(path.join(os.tmpdir(), "stackd-cluster-state-"))}`;
}

/** Starts `stackd serve` named `name` and waits until it answers /healthz and lists itself in /api/replicas. */
export async function startReplica(name: string, o: ReplicaOptions): Promise<Replica> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `stackd-cluster-${name}-`));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = [
    path.join(installRoot, "bin", "stackd.js"),
    "serve",
    "--repo", o.repo,
    "--database", o.database,
    "--backend", o.backend,
    "--data-dir", dataDir,
    "--replica-name", name,
    "--port", String(port),
    "--poll-interval", String(o.pollInterval ?? 2),
    "--parallelism", String(o.parallelism ?? 1),
    ...(o.lease === undefined ? [] : ["--lease", String(o.lease)]),
    ...(o.extraArgs ?? []),
  ];
  const env = {
    ...process.env,
    ...o.env,
    PULUMI_CONFIG_PASSPHRASE: CLUSTER_PASSPHRASE,
    PULUMI_SKIP_UPDATE_CHECK: "true",
    STACKD_API_TOKEN: CLUSTER_TOKEN,
    STACKD_WEBHOOK_SECRET: WEBHOOK_SECRET,
  };
  // Its own process group, so kill -9 of the group takes it down as a crash would.
  const proc = spawn(process.execPath, args, { env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const log = fs.createWriteStream(`${dataDir}.log`);
  let out = "";
  const keep = (d: Buffer) => {
    out += d;
    log.write(d);
  };
  proc.stdout!.on("data", keep);
  proc.stderr!.on("data", keep);
  const exited = new Promise<void>((resolve) => proc.once("exit", () => (log.end(), resolve())));
  const alive = () => proc.exitCode === null && proc.signalCode === null;
  const api = (route: string, init: RequestInit = {}) =>
    fetch(`${url}${route}`, { ...init, headers: { authorization: `Bearer ${CLUSTER_TOKEN}`, ...(init.headers as Record<string, string>) } });
  const json = async <T>(route: string): Promise<T> => {
    const res = await api(route);
    if (!res.ok) throw new Error(`${name}: GET ${route} -> ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  const replica: Replica = {
    name,
    id: "",
    url,
    dataDir,
    proc,
    output: () => out,
    alive,
    api,
    json,
    runs: async () => (await json<{ runs: ClusterRun[] }>("/api/runs?limit=1000")).runs,
    replicas: () => json<ReplicasAnswer>("/api/replicas"),
    pushWebhook(revision) {
      const body = JSON.stringify({ ref: "refs/heads/main", after: revision, repository: { full_name: "team/infra" } });
      return fetch(`${url}/webhooks/github`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-github-event": "push", "x-hub-signature-256": githubSignature(WEBHOOK_SECRET, body) },
        body,
      });
    },
    async kill() {
      killTree(proc, dataDir);
      await exited;
      // The engine's sessions may outlive the group for a moment: sweep until nothing works for it.
      await waitFor(`${name}'s engine processes to end`, () => (killTree(proc, dataDir), processesUnder(dataDir).length === 0), 10_000);
    },
  };
  started.push(replica);
  try {
    await waitFor(`${name} to answer /healthz`, async () => {
      if (!alive()) throw new Error(`${name} exited (${proc.exitCode ?? proc.signalCode}):\n${out}`);
      return (await fetch(`${url}/healthz`).catch(() => undefined))?.ok;
    });
    const self = await waitFor(`${name} to list itself in GET /api/replicas`, async () => {
      const res = await api("/api/replicas").catch(() => undefined);
      if (!res?.ok) return undefined;
      return ((await res.json()) as ReplicasAnswer).replicas.find((r) => r.name === name);
    }, 30_000);
    replica.id = self.id;
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- ${name}'s output ---\n${out.slice(-6000)}`);
  }
  return replica;
}

/** Starts `count` replicas named r1 … rN together. */
export function startReplicas(count: number, o: ReplicaOptions): Promise<Replica[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => startReplica(`r${i + 1}`, o)));
}

function killTree(proc: ChildProcess, dataDir: string): void {
  if (proc.pid && proc.exitCode === null && proc.signalCode === null) {
    try {
      process.kill(-proc.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  for (const p of processesUnder(dataDir)) {
    try {
      process.kill(p.pid, "SIGKILL");
    } catch {
      // gone meanwhile
    }
  }
}

/** Ends every replica started so far (kill -9: the tests and benches do not judge how they stop). */
export async function stopAllReplicas(): Promise<void> {
  for (const r of started.splice(0)) await r.kill().catch(() => {});
}

/** Waits until every run in the ledger (asked through `via`) is neither queued nor running; returns them. */
export function settledRuns(via: () => Replica, timeoutMs = 300_000, check: (runs: ClusterRun[]) => boolean = () => true): Promise<ClusterRun[]> {
  return waitFor(
    "every run to settle",
    async () => {
      const runs = await via().runs().catch(() => undefined);
      return runs && runs.every((r) => r.status !== "queued" && r.status !== "running") && check(runs) ? runs : undefined;
    },
    timeoutMs,
  );
}

/** Runs straight from the database (oldest first), for when no replica may be asked. `replica` is null where the column does not exist. */
export async function runsInDatabase(database: string): Promise<ClusterRun[]> {
  const client = new pg.Client({ connectionString: database, application_name: "cluster-testkit" });
  await client.connect();
  try {
    const { rows } = await client.query(
      `SELECT id, stack, revision, kind, trigger, status, created_at, started_at, finished_at, error, to_jsonb(runs)->>'replica' AS replica FROM runs ORDER BY seq`,
    );
    return rows.map((r) => ({
      id: r.id,
      stack: r.stack,
      revision: r.revision,
      kind: r.kind,
      trigger: r.trigger,
      status: r.status,
      createdAt: r.created_at,
      startedAt: r.started_at,
      finishedAt: r.finished_at,
      error: r.error,
      replica: r.replica,
    })) as ClusterRun[];
  } finally {
    await client.end();
  }
}

/** Client connections to `database` by application name, as pg_stat_activity counts them (this kit's own, and autovacuum workers, left out). */
export async function connectionsByApplication(client: pg.Client, database: string): Promise<Map<string, number>> {
  const { rows } = await client.query(
    "SELECT application_name AS app, count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend' AND application_name <> 'cluster-testkit' GROUP BY 1",
    [new URL(database).pathname.slice(1)],
  );
  return new Map(rows.map((r) => [r.app as string, r.n as number]));
}

/** Samples pg_stat_activity every `everyMs` and keeps the most connections seen per application name. */
export async function sampleConnections(database: string, everyMs = 250): Promise<{ now(): Promise<Map<string, number>>; stop(): Promise<Map<string, number>> }> {
  const client = new pg.Client({ connectionString: database, application_name: "cluster-testkit" });
  await client.connect();
  const max = new Map<string, number>();
  let busy: Promise<void> = Promise.resolve();
  const sample = () =>
    (busy = busy.then(async () => {
      for (const [app, n] of await connectionsByApplication(client, database).catch(() => new Map<string, number>())) max.set(app, Math.max(max.get(app) ?? 0, n));
    }));
  const timer = setInterval(() => void sample(), everyMs);
  return {
    now: () => connectionsByApplication(client, database),
    async stop() {
      clearInterval(timer);
      await sample();
      await client.end();
      return max;
    },
  };
}

/** The connections of one replica among those counts: application_name "stackd <name>". */
export const connectionsOf = (counts: Map<string, number>, name: string) => counts.get(`stackd ${name}`) ?? 0;

/** Per stack, its runs' [startedAt, finishedAt] pairs that overlap (runs of one stack must never run at once). */
export function overlappingRuns(runs: ClusterRun[]): [ClusterRun, ClusterRun][] {
  const byStack = new Map<string, ClusterRun[]>();
  for (const r of runs) if (r.startedAt) byStack.set(r.stack, [...(byStack.get(r.stack) ?? []), r]);
  const overlaps: [ClusterRun, ClusterRun][] = [];
  for (const list of byStack.values()) {
    const sorted = list.sort((a, b) => Date.parse(a.startedAt!) - Date.parse(b.startedAt!));
    for (let i = 1; i < sorted.length; i++) {
      const prev = sorted[i - 1]!;
      const end = prev.finishedAt ? Date.parse(prev.finishedAt) : Infinity;
      if (Date.parse(sorted[i]!.startedAt!) < end) overlaps.push([prev, sorted[i]!]);
    }
  }
  return overlaps;
}

/** A one-line account of a run, for failure messages. */
export const describeRun = (r: ClusterRun) =>
  `${r.id} ${r.stack} ${r.kind} ${r.trigger} ${r.status} rev ${r.revision.slice(0, 8)} replica ${r.replica} created ${r.createdAt} started ${r.startedAt} finished ${r.finishedAt}${r.error ? ` error: ${r.error}` : ""}`;

/**
 * The queue's life between `from` and `to`, rebuilt from the runs' times (a run is queued from
 * createdAt until it starts or is settled without starting): the most runs queued at once for one
 * stack, and the longest stretch in which runs were queued while none ran anywhere.
 */
export function queueLife(runs: ClusterRun[], from: number, to: number, stepMs = 250): { mostQueuedForOneStack: number; longestIdleWithQueuedMs: number } {
  const spans = runs.map((r) => ({
    stack: r.stack,
    queued: [Date.parse(r.createdAt), Date.parse(r.startedAt ?? r.finishedAt ?? new Date(to).toISOString())] as const,
    running: r.startedAt ? ([Date.parse(r.startedAt), r.finishedAt ? Date.parse(r.finishedAt) : to] as const) : undefined,
  }));
  let mostQueuedForOneStack = 0;
  let longestIdleWithQueuedMs = 0;
  let idleSince: number | undefined;
  for (let t = from; t <= to; t += stepMs) {
    const queued = new Map<string, number>();
    for (const s of spans) if (s.queued[0] <= t && t < s.queued[1]) queued.set(s.stack, (queued.get(s.stack) ?? 0) + 1);
    mostQueuedForOneStack = Math.max(mostQueuedForOneStack, ...queued.values());
    const running = spans.some((s) => s.running && s.running[0] <= t && t < s.running[1]);
    if (queued.size > 0 && !running) {
      idleSince ??= t;
      longestIdleWithQueuedMs = Math.max(longestIdleWithQueuedMs, t - idleSince);
    } else idleSince = undefined;
  }
  return { mostQueuedForOneStack, longestIdleWithQueuedMs };
}

/** A TCP relay on loopback to the database, which a test can cut as a network partition would. */
export interface DatabaseLink {
  /** The database URL through the relay. */
  url: string;
  /** From now on nothing gets through either way, and nothing says so: connections hang, as behind a dead network. */
  cut(): void;
  stop(): Promise<void>;
}

/** Relays `database`'s connections through a loopback port of its own. */
export async function databaseLink(database: string): Promise<DatabaseLink> {
  const target = new URL(database);
  const sockets = new Set<net.Socket>();
  let cut = false;
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => {});
    if (cut) return void client.pause();
    const upstream = net.connect(Number(target.port), target.hostname);
    sockets.add(upstream);
    upstream.on("close", () => sockets.delete(upstream));
    upstream.on("error", () => {});
    // A relay that drops what it reads once cut, rather than ending the connection.
    client.on("data", (d) => cut || upstream.write(d));
    upstream.on("data", (d) => cut || client.write(d));
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = new URL(database);
  url.port = String((server.address() as net.AddressInfo).port);
  return {
    url: url.toString(),
    cut() {
      cut = true;
    },
    async stop() {
      cut = true;
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
