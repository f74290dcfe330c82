// Replicas against one PostgreSQL database and one shared state backend: the
// same repository of STACKS stacks (default 20) applied by 1 replica, then by
// 2 (a fresh database, state backend and emulator each time), timed from the
// commit that declares the stacks to the last stack's up succeeded; then the
// failover time after kill -9 of the replica running a stack (lease 10 s);
// and the most connections each replica held to the database meanwhile.
// Run: npm run bench:replicas    (STACKS=4 node bench/replicas.ts for a quick trial;
// PARALLELISM sets each replica's --parallelism, default stackd's 2)
import {
  clusterRepo,
  connectionsOf,
  sampleConnections,
  sharedBackend,
  stackConfig,
  stackFile,
  stackNames,
  startClusterKit,
  startReplicas,
  stopAllReplicas,
  type ClusterRepo,
  type ClusterRun,
  type Replica,
} from "../test/testkit/cluster.ts";
import { waitFor } from "../test/testkit/service.ts";

const N = Number(process.env.STACKS ?? 20);
const PARALLELISM = Number(process.env.PARALLELISM ?? 2);
const LEASE = 10;
const NO_DRIFT = 'stacks:\n  "*":\n    drift: "off"\n';
const stacks = stackNames("s", N);

interface Row {
  replicas: number;
  seconds: number;
  perReplica: string;
  connections: string;
}

const kit = await startClusterKit();
let databases = 0;

/** Every up of `names` at `revision`, once all finished; throws when one did not succeed (the figure would mean nothing). */
async function applied(via: Replica, revision: string, names: string[]): Promise<ClusterRun[]> {
  const ups = await waitFor(
    `the ups of ${names.length} stacks`,
    async () => {
      const runs = (await via.runs()).filter((r) => r.kind === "up" && r.revision === revision && names.includes(r.stack.replace("sample-infra/", "")));
      const finished = runs.filter((r) => r.status !== "queued" && r.status !== "running");
      return new Set(finished.map((r) => r.stack)).size === names.length && finished.length === runs.length ? finished : undefined;
    },
    3_600_000,
  );
  const bad = ups.find((r) => r.status !== "succeeded");
  if (bad) throw new Error(`run ${bad.id} of ${bad.stack} ended ${bad.status}: ${bad.error ?? ""}`);
  return ups;
}

/** Replicas started on the project without stacks; then one commit declares all of them, announced by a webhook. */
async function applyAll(count: number): Promise<{ row: Row; replicas: Replica[]; repo: ClusterRepo }> {
  await kit.emu.reset();
  const repo = await clusterRepo({ stacks: [], settings: NO_DRIFT });
  const database = kit.postgres.createDatabase(`bench_${++databases}_${count}_replicas`);
  const connections = await sampleConnections(database);
  const replicas = await startReplicas(count, { repo: repo.url, database, backend: sharedBackend(), env: kit.emu.env, parallelism: PARALLELISM, pollInterval: 5, lease: LEASE });
  const t0 = Date.now();
  const revision = repo.commitAndPush(Object.fromEntries(stacks.map((s) => [stackFile(s), stackConfig()])), `${N} stacks`);
  const res = await replicas[0]!.pushWebhook(revision);
  if (res.status !== 202) throw new Error(`webhook: ${res.status} ${await res.text()}`);
  const ups = await applied(replicas[0]!, revision, stacks);
  const seconds = (Math.max(...ups.map((r) => Date.parse(r.finishedAt!))) - t0) / 1000;
  const seen = await connections.stop();
  const row: Row = {
    replicas: count,
    seconds,
    perReplica: replicas.map((r) => `${r.name} ${ups.filter((u) => u.replica === r.id).length}`).join(", "),
    connections: [...replicas.map((r) => `${r.name} ${connectionsOf(seen, r.name)}`), ...[...seen].filter(([app]) => !replicas.some((r) => app === `stackd ${r.name}`)).map(([app, n]) => `"${app}" ${n}`)].join(", "),
  };
  return { row, replicas, repo };
}

try {
  const rows: Row[] = [];
  const single = await applyAll(1);
  rows.push(single.row);
  await stopAllReplicas();
  await single.repo.stop();
  const { row, replicas, repo } = await applyAll(2);
  rows.push(row);

  // Failover: s01 made slow (a 30-second resource), its replica killed 12 s into the up.
  const slow = `sample-infra/${stacks[0]}`;
  const revision = repo.commitAndPush({ [stackFile(stacks[0]!)]: stackConfig({ pauseSeconds: "30" }) }, "a slow stack");
  await replicas[1]!.pushWebhook(revision);
  const running = await waitFor("the slow up to run", async () => (await replicas[0]!.runs()).find((r) => r.stack === slow && r.revision === revision && r.status === "running" && r.replica), 600_000);
  await waitFor("the up to be 12 s in", () => Date.now() - Date.parse(running.startedAt!) > 12_000, 60_000);
  const victim = replicas.find((r) => r.id === running.replica)!;
  const survivor = replicas.find((r) => r !== victim)!;
  await victim.kill();
  const killedAt = Date.now();
  const replacement = await waitFor(
    "the survivor to apply the slow stack again",
    async () => (await survivor.runs()).find((r) => r.stack === slow && r.kind === "up" && r.id !== running.id && Date.parse(r.createdAt) >= Date.parse(running.createdAt) && r.status === "succeeded"),
    600_000,
  );
  const killed = (await survivor.runs()).find((r) => r.id === running.id)!;

  const table = [
    ["replicas", "parallelism each", "stacks", "seconds", "stacks/min", "ups per replica", "most DB connections per replica"],
    ...rows.map((r) => [String(r.replicas), String(PARALLELISM), String(N), r.seconds.toFixed(1), ((N * 60) / r.seconds).toFixed(1), r.perReplica, r.connections]),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  for (const line of table) console.log(line.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd());
  console.log(
    `failover after kill -9 of ${victim.name} running ${slow} (lease ${LEASE} s): the killed run ended ${killed.status} (${killed.error ?? "no error"}); ` +
      `the replacement (${replacement.trigger}) started ${((Date.parse(replacement.startedAt!) - killedAt) / 1000).toFixed(1)} s after the kill ` +
      `and succeeded ${((Date.parse(replacement.finishedAt!) - killedAt) / 1000).toFixed(1)} s after it, on ${survivor.name}`,
  );
  await repo.stop();
} finally {
  await kit.stop();
}
