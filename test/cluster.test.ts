// Replicas: several `stackd serve` processes against one PostgreSQL database and one
// shared state backend, with the real engine, the real emulator and real git.
// One PostgreSQL cluster and one emulator serve every test; each test has a
// database, a state backend, a repository and replicas of its own, and
// stack names of its own, so its buckets are its own in the emulator.
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { cloud } from "./testkit/aws.ts";
import {
  bucketOf,
  clusterRepo,
  clusterSuite,
  connectionsOf,
  describeRun,
  overlappingRuns,
  queueLife,
  sampleConnections,
  settledRuns,
  sharedBackend,
  stackConfig,
  stackFile,
  stackNames,
  startReplicas,
  type ClusterRepo,
  type ClusterRun,
  type Replica,
} from "./testkit/cluster.ts";
import { waitFor } from "./testkit/service.ts";

const suite = clusterSuite();
const kit = () => suite.kit();
/** The replicas of the test under way. */
let replicas: Replica[] = [];

let databases = 0;
const freshDatabase = (what: string) => kit().postgres.createDatabase(`cluster_${++databases}_${what}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const full = (stack: string) => `sample-infra/${stack}`;
/** Drift checks off: a check would be a run the test did not ask for. */
const NO_DRIFT = 'stacks:\n  "*":\n    drift: "off"\n';
/** The process group a process belongs to (the fifth field of /proc/PID/stat). */
const processGroupOf = (pid: number) => {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
};
const succeededUp = (runs: ClusterRun[], stack: string) => runs.some((r) => r.stack === full(stack) && r.kind === "up" && r.status === "succeeded");

async function repoWith(o: Parameters<typeof clusterRepo>[0]): Promise<ClusterRepo> {
  return suite.closeAfter(await clusterRepo(o));
}

describe("replicas on one PostgreSQL database", () => {
  it("two replicas, 8 stacks, one commit: each stack applied exactly once, the work shared by both", { timeout: 420_000 }, async () => {
    const stacks = stackNames("a", 8);
    const repo = await repoWith({ stacks, settings: NO_DRIFT });
    const revision = repo.head();
    const database = freshDatabase("apply");
    const connections = await sampleConnections(database);
    const t0 = Date.now();
    replicas = await startReplicas(2, { repo: repo.url, database, backend: sharedBackend(), env: kit().emu.env, parallelism: 1, pollInterval: 2 });
    const [r1, r2] = replicas as [Replica, Replica];
    // The queue depth either replica reports is the cluster's: 8 runs, at most 2 started at once.
    let mostWaiting = 0;
    const depthOf = async (r: Replica) => (await r.json<{ queueDepth: number }>("/api/stacks")).queueDepth;
    await waitFor("all 8 stacks to be applied", async () => {
      mostWaiting = Math.max(mostWaiting, await depthOf(r2));
      const runs = await r1.runs();
      return stacks.every((s) => succeededUp(runs, s));
    }, 360_000);
    expect(mostWaiting).toBeGreaterThanOrEqual(4);
    expect([await depthOf(r1), await depthOf(r2)]).toEqual([0, 0]);
    expect(await (await r2.api("/metrics")).text()).toMatch(/^stackd_queue_depth 0$/m);
    const appliedSeconds = (Date.now() - t0) / 1000;
    // Some more polls of the branch: a second poller, or a job executed twice, would show as a second up.
    await sleep(6_000);
    const runs = await settledRuns(() => r1);
    const seen = await connections.stop();

    for (const s of stacks) {
      const ups = runs.filter((r) => r.stack === full(s) && r.kind === "up");
      expect(ups.map((r) => [r.revision, r.status]), `${s}: ${ups.map(describeRun).join("; ")}`).toEqual([[revision, "succeeded"]]);
    }
    const byReplica = Object.groupBy(runs, (r) => r.replica ?? "none");
    expect(Object.keys(byReplica).sort()).toEqual([r1.id, r2.id].sort());
    const aws = cloud(kit().emu);
    for (const s of stacks) expect(await aws.bucketTags(bucketOf(s)), s).toMatchObject({ stack: s });

    // GET /api/replicas: both, one of them leading, each the stackd process of its own process group, beating within the lease.
    const listed = await r2.replicas();
    expect(listed.replicas.map((r) => [r.name, r.id]).sort()).toEqual([["r1", r1.id], ["r2", r2.id]]);
    expect(listed.replicas.filter((r) => r.leader)).toHaveLength(1);
    for (const r of listed.replicas) {
      const mine = replicas.find((x) => x.id === r.id)!;
      expect(processGroupOf(r.pid), `${r.name}'s pid ${r.pid}`).toBe(mine.proc.pid);
      expect(Date.now() - Date.parse(r.heartbeatAt)).toBeLessThan(listed.leaseSeconds * 1000);
      expect(r.running).toEqual([]);
    }

    // Every connection to the database is one replica's, named after it, ledger and queue alike.
    expect([...seen.keys()].sort()).toEqual(["stackd r1", "stackd r2"]);
    console.log(
      `8 stacks applied by 2 replicas in ${appliedSeconds.toFixed(1)} s (from start); runs per replica: ` +
        `r1 ${byReplica[r1.id]?.length ?? 0}, r2 ${byReplica[r2.id]?.length ?? 0}; most DB connections: r1 ${connectionsOf(seen, "r1")}, r2 ${connectionsOf(seen, "r2")}`,
    );
  });

  it("20 push webhooks spread over both replicas: no stack runs twice at once, every run settles, the last commit is applied", { timeout: 480_000 }, async () => {
    const stacks = stackNames("w", 4);
    const repo = await repoWith({ stacks, settings: NO_DRIFT });
    // Polling only at start: the commits are announced by webhooks alone.
    replicas = await startReplicas(2, { repo: repo.url, database: freshDatabase("webhooks"), backend: sharedBackend(), env: kit().emu.env, parallelism: 1, pollInterval: 3600 });
    const [r1, r2] = replicas as [Replica, Replica];
    await waitFor("the first apply of every stack", async () => {
      const runs = await r1.runs();
      return stacks.every((s) => succeededUp(runs, s));
    }, 300_000);
    await settledRuns(() => r1);

    // Commit i changes two neighbouring stacks' dataClass tag; the webhooks alternate between the replicas.
    const revisions: string[] = [];
    const last = new Map<string, { commit: number; value: string }>();
    const t0 = Date.now();
    for (let i = 0; i < 20; i++) {
      const value = `class-${i + 1}`;
      const changed = [stacks[i % stacks.length]!, stacks[(i + 1) % stacks.length]!];
      const revision = repo.commitAndPush(Object.fromEntries(changed.map((s) => [stackFile(s), stackConfig({ dataClass: value })])), `dataClass ${value} for ${changed.join(", ")}`);
      revisions.push(revision);
      for (const s of changed) last.set(s, { commit: i, value });
      const res = await replicas[i % 2]!.pushWebhook(revision);
      expect(res.status, await res.clone().text()).toBe(202);
      // Room for runs to start between the pushes: later commits then meet runs in flight on both replicas.
      await sleep(2_000);
    }
    const order = new Map(revisions.map((r, i) => [r, i]));
    const latestApplied = (runs: ClusterRun[], stack: string) =>
      runs
        .filter((r) => r.stack === full(stack) && r.kind === "up" && r.status === "succeeded")
        .sort((a, b) => Date.parse(b.finishedAt!) - Date.parse(a.finishedAt!))[0];
    const runs = await settledRuns(() => r2, 420_000, (runs) => stacks.every((s) => (order.get(latestApplied(runs, s)?.revision ?? "") ?? -1) >= last.get(s)!.commit));
    const seconds = (Date.now() - t0) / 1000;

    expect(overlappingRuns(runs).map(([a, b]) => `${describeRun(a)}  OVERLAPS  ${describeRun(b)}`)).toEqual([]);
    expect(runs.filter((r) => r.status === "failed" || r.status === "interrupted").map(describeRun)).toEqual([]);
    const aws = cloud(kit().emu);
    for (const s of stacks) {
      const applied = latestApplied(runs, s)!;
      expect(order.get(applied.revision), `${s} applied ${applied.revision}`).toBeGreaterThanOrEqual(last.get(s)!.commit);
      expect((await aws.bucketTags(bucketOf(s))).dataClass, s).toBe(last.get(s)!.value);
    }
    // Not part of the contract, but how long the newest commit waits: stale runs are skipped one job at a time.
    const life = queueLife(runs, t0, Date.now());
    const webhookRuns = runs.filter((r) => r.trigger === "webhook");
    const perReplica = Object.groupBy(webhookRuns, (r) => (r.replica === r1.id ? "r1" : r.replica === r2.id ? "r2" : String(r.replica)));
    console.log(
      `20 webhooks: ${webhookRuns.length} runs (${Object.entries(Object.groupBy(webhookRuns, (r) => r.status)).map(([s, l]) => `${s} ${l!.length}`).join(", ")}); ` +
        `executed by r1 ${perReplica.r1?.length ?? 0}, r2 ${perReplica.r2?.length ?? 0}; settled ${seconds.toFixed(1)} s after the first commit; ` +
        `most runs queued at once for one stack: ${life.mostQueuedForOneStack}; longest stretch with runs queued and none running: ${(life.longestIdleWithQueuedMs / 1000).toFixed(1)} s`,
    );
  });

  it("kill -9 of the replica running a stack: the other one interrupts the run and finishes the stack within lease + one run", { timeout: 420_000 }, async () => {
    const lease = 10;
    const slow = full("k01");
    // One stack: the survivor has a free slot when the lease runs out, so the time measured is the takeover's alone.
    const repo = await repoWith({ stacks: ["k01"], config: { k01: { pauseSeconds: "30" } }, settings: NO_DRIFT });
    replicas = await startReplicas(2, { repo: repo.url, database: freshDatabase("failover"), backend: sharedBackend(), env: kit().emu.env, parallelism: 1, pollInterval: 2, lease });
    const [r1] = replicas as [Replica, Replica];
    expect((await r1.replicas()).leaseSeconds).toBe(lease);

    const running = await waitFor("k01's up to run on a replica", async () => (await r1.runs()).find((r) => r.stack === slow && r.kind === "up" && r.status === "running" && r.replica), 240_000);
    const victim = replicas.find((r) => r.id === running.replica)!;
    const survivor = replicas.find((r) => r !== victim)!;
    expect(victim, `run ${running.id} names replica ${running.replica}, not one of ${replicas.map((r) => r.id)}`).toBeDefined();
    // The replicas' API says so as well.
    await waitFor(`GET /api/replicas to list ${running.id} on ${victim.name}`, async () =>
      (await survivor.replicas()).replicas.find((r) => r.id === victim.id)?.running.some((x) => x.run === running.id && x.stack === slow), 15_000);
    // Well into the operation: the program is waiting on its 30-second Pause resource.
    await waitFor("the up to be 12 s in", () => Date.now() - Date.parse(running.startedAt!) > 12_000, 30_000);

    await victim.kill();
    const killedAt = Date.now();
    const { killed, replacement } = await waitFor(
      "the survivor to interrupt the killed run and apply k01 again",
      async () => {
        const runs = await survivor.runs();
        const killed = runs.find((r) => r.id === running.id);
        const replacement = runs.find((r) => r.stack === slow && r.kind === "up" && r.id !== running.id && Date.parse(r.createdAt) >= Date.parse(running.createdAt) && r.status === "succeeded");
        return killed?.status === "interrupted" && replacement ? { killed, replacement } : undefined;
      },
      (lease * 1.25 + 120) * 1000,
    );
    const failoverSeconds = (Date.parse(replacement.startedAt!) - killedAt) / 1000;
    const finishedSeconds = (Date.parse(replacement.finishedAt!) - killedAt) / 1000;
    const runSeconds = (Date.parse(replacement.finishedAt!) - Date.parse(replacement.startedAt!)) / 1000;
    console.log(`failover after kill -9 at lease ${lease} s: replacement run started ${failoverSeconds.toFixed(1)} s after the kill, succeeded after ${finishedSeconds.toFixed(1)} s (the run itself ${runSeconds.toFixed(1)} s)`);

    expect(killed.error).toMatch(/^interrupted: replica/);
    expect(killed.replica).toBe(victim.id);
    expect(replacement.trigger).toBe("retry");
    expect(replacement.replica).toBe(survivor.id);
    // The lease, up to a quarter of it for the survivor to notice, and a few seconds to queue and start the run.
    expect(failoverSeconds).toBeLessThanOrEqual(lease * 1.25 + 10);
    expect(Date.parse(killed.finishedAt!)).toBeLessThanOrEqual(Date.parse(replacement.startedAt!));
    const runs = await settledRuns(() => survivor);
    expect(overlappingRuns(runs).map(([a, b]) => `${describeRun(a)}  OVERLAPS  ${describeRun(b)}`)).toEqual([]);
    expect(runs.filter((r) => r.stack === slow && r.status === "interrupted").map((r) => r.id)).toEqual([running.id]);
    expect((await survivor.replicas()).replicas.map((r) => r.name)).toEqual([survivor.name]);
    const aws = cloud(kit().emu);
    expect(await aws.bucketTags(bucketOf("k01"))).toMatchObject({ stack: "k01" });
    expect(await aws.parameter("/stackd-sample/k01/queue-url")).toMatch(/stackd-sample-k01-jobs$/);
  });

  it("a drift schedule fires once per tick across the replicas: one refresh per stack per tick", { timeout: 420_000 }, async () => {
    const TICK = 20_000;
    const settings = 'stacks:\n  "*":\n    drift: "off"\n  "d01":\n    drift: "*/20 * * * * *"\n  "d02":\n    drift: "*/20 * * * * *"\n';
    const stacks = ["d01", "d02", "d03"];
    const repo = await repoWith({ stacks, settings });
    replicas = await startReplicas(2, { repo: repo.url, database: freshDatabase("drift"), backend: sharedBackend(), env: kit().emu.env, parallelism: 1, pollInterval: 2 });
    const [r1] = replicas as [Replica, Replica];
    const applied = await waitFor("the first apply of every stack", async () => {
      const runs = await r1.runs();
      return stacks.every((s) => succeededUp(runs, s)) ? runs : undefined;
    }, 300_000);
    const appliedAt = Math.max(...applied.filter((r) => r.kind === "up").map((r) => Date.parse(r.finishedAt!)));
    // Three whole ticks after the stacks exist, and time for the last one's checks to finish.
    const ticks = [1, 2, 3].map((n) => (Math.floor(appliedAt / TICK) + n) * TICK);
    await sleep(ticks.at(-1)! + 15_000 - Date.now());
    const runs = await settledRuns(() => r1);

    const checks = runs.filter((r) => r.kind === "refresh" && r.trigger === "schedule");
    // A tick's run is created at the tick, or a moment after; croner may fire a few ms early.
    const tickOf = (r: ClusterRun) => Math.floor((Date.parse(r.createdAt) + 2_000) / TICK) * TICK;
    for (const s of ["d01", "d02"]) {
      const perTick = Object.groupBy(checks.filter((r) => r.stack === full(s)), (r) => String(tickOf(r)));
      const twice = Object.values(perTick).filter((l) => l!.length > 1);
      expect(twice.map((l) => l!.map(describeRun)), `${s}: a tick fired more than once`).toEqual([]);
      expect(ticks.map((t) => perTick[String(t)]?.length ?? 0), `${s}: checks at ticks ${ticks.map((t) => new Date(t).toISOString())}`).toEqual([1, 1, 1]);
    }
    expect(checks.filter((r) => r.stack === full("d03")).map(describeRun)).toEqual([]);
    expect(checks.filter((r) => r.status !== "succeeded").map(describeRun)).toEqual([]);
    const names = new Map(replicas.map((r) => [r.id, r.name]));
    console.log(`drift ticks: ${checks.length} scheduled checks, executed by ${Object.entries(Object.groupBy(checks, (r) => names.get(r.replica ?? "") ?? String(r.replica))).map(([n, l]) => `${n} ${l!.length}`).join(", ")}`);
  });
});
