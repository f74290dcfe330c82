// Replicas, what people do through them: cancel a run another replica runs,
// approve a preview another replica made (its plan comes from the database),
// stop a replica mid-run (its run goes to the other), redeliver a webhook
// to another replica; cut a replica off from the database mid-run (it stops
// its run before the other takes the stack over). Real engine, emulator, git
// and PostgreSQL.
import { describe, expect, it } from "vitest";
import { cloud } from "./testkit/aws.ts";
import {
  bucketOf,
  clusterRepo,
  clusterSuite,
  databaseLink,
  describeRun,
  settledRuns,
  sharedBackend,
  stackConfig,
  stackFile,
  startReplica,
  startReplicas,
  type ClusterRepo,
  type ClusterRun,
  type Replica,
  type ReplicaOptions,
} from "./testkit/cluster.ts";
import { githubSignature } from "../src/server/index.ts";
import { processesUnder } from "./testkit/processes.ts";
import { waitFor, WEBHOOK_SECRET } from "./testkit/service.ts";

const suite = clusterSuite();
let replicas: Replica[] = [];

let databases = 0;
const full = (stack: string) => `sample-infra/${stack}`;
const NO_DRIFT = 'stacks:\n  "*":\n    drift: "off"\n';

async function cluster(stacks: string[], settings = NO_DRIFT, o: Partial<ReplicaOptions> = {}): Promise<{ repo: ClusterRepo; options: ReplicaOptions }> {
  const repo = suite.closeAfter(await clusterRepo({ stacks, settings }));
  const options: ReplicaOptions = { repo: repo.url, database: suite.kit().postgres.createDatabase(`ops_${++databases}`), backend: sharedBackend(), env: suite.kit().emu.env, parallelism: 1, pollInterval: 2, ...o };
  return { repo, options };
}

/** The run of `stack` at `revision` once `match` holds for it. */
const runOf = (via: Replica, stack: string, revision: string, match: (r: ClusterRun) => boolean, what: string, timeoutMs = 240_000) =>
  waitFor(what, async () => (await via.runs()).find((r) => r.stack === full(stack) && r.revision === revision && match(r)), timeoutMs);

const other = (of: Replica) => replicas.find((r) => r.id !== of.id)!;
const holder = (run: ClusterRun) => replicas.find((r) => r.id === run.replica)!;

describe("working through any replica", () => {
  it("a stack that dependsOn another starts only after it, though the other replica is free", { timeout: 300_000 }, async () => {
    const settings = 'stacks:\n  "*":\n    drift: "off"\n  "sample-infra/app01":\n    dependsOn: [sample-infra/net01]\n';
    const repo = suite.closeAfter(await clusterRepo({ stacks: ["net01", "app01"], settings, config: { net01: { pauseSeconds: "15" } } }));
    const options: ReplicaOptions = { repo: repo.url, database: suite.kit().postgres.createDatabase(`ops_${++databases}`), backend: sharedBackend(), env: suite.kit().emu.env, parallelism: 1, pollInterval: 2 };
    replicas = await startReplicas(2, options);
    const runs = await settledRuns(() => replicas[0]!, 240_000, (rs) => rs.filter((r) => r.kind === "up" && r.status === "succeeded").length === 2);
    const net = runs.find((r) => r.stack === full("net01") && r.kind === "up")!;
    const app = runs.find((r) => r.stack === full("app01") && r.kind === "up")!;
    expect(Date.parse(app.startedAt!), `${describeRun(net)}\n${describeRun(app)}`).toBeGreaterThanOrEqual(Date.parse(net.finishedAt!));
    console.log(`dependsOn across replicas: app01 started ${((Date.parse(app.startedAt!) - Date.parse(net.finishedAt!)) / 1000).toFixed(1)} s after net01 finished (net01 ran on ${holder(net).name}, app01 on ${holder(app).name})`);
  });

  it("a cancel sent to one replica stops the run the other one runs", { timeout: 420_000 }, async () => {
    const { repo, options } = await cluster(["c01"]);
    replicas = await startReplicas(2, options);
    await runOf(replicas[0]!, "c01", repo.head(), (r) => r.status === "succeeded", "the first apply");
    const slow = repo.commitAndPush({ [stackFile("c01")]: stackConfig({ pauseSeconds: "120", dataClass: "slow" }) }, "a slow change");
    const running = await runOf(replicas[0]!, "c01", slow, (r) => r.status === "running" && r.startedAt !== null, "the slow up to start");
    const asked = other(holder(running));
    const t0 = Date.now();
    const res = await asked.api(`/api/runs/${running.id}/cancel`, { method: "POST" });
    expect(res.status, await res.clone().text()).toBeLessThan(300);
    const cancelled = await runOf(asked, "c01", slow, (r) => r.id === running.id && r.status !== "running", "the run to stop", 60_000);
    const seconds = (Date.now() - t0) / 1000;
    expect(cancelled.status, describeRun(cancelled)).toBe("cancelled");
    expect(cancelled.error).toMatch(/^cancelled by STACKD_API_TOKEN/);
    expect(cancelled.replica).toBe(holder(running).id);
    // A cancel is the last word: nothing runs the change again behind the person's back.
    await new Promise((r) => setTimeout(r, 8_000));
    const after = (await asked.runs()).filter((r) => r.revision === slow);
    expect(after.map((r) => r.status)).toEqual(["cancelled"]);
    console.log(`cancel through the other replica: the run stopped ${seconds.toFixed(1)} s after the request`);
  });

  it("a preview made by one replica is approved and applied by the other, from the plan kept in the database", { timeout: 420_000 }, async () => {
    const { repo, options } = await cluster(["m01"], 'stacks:\n  "*":\n    drift: "off"\n    apply: manual\n');
    replicas = await startReplicas(2, options);
    const preview = await runOf(replicas[0]!, "m01", repo.head(), (r) => r.status === "awaiting_approval", "the preview to await approval");
    expect(preview.kind).toBe("preview");
    const previewer = holder(preview);
    const applier = other(previewer);
    // Only the other replica is left to take the up: the plan must come from the database.
    await previewer.kill();
    const res = await applier.api(`/api/approvals/${preview.id}`, { method: "POST" });
    expect(res.status, await res.clone().text()).toBe(202);
    const approved = (await res.json()) as { id: string; approvedPlan: string | null };
    expect(approved.approvedPlan).toMatch(/^[0-9a-f]{64}$/);
    const up = await runOf(applier, "m01", repo.head(), (r) => r.id === approved.id && r.status !== "queued" && r.status !== "running", "the approved up to finish");
    expect([up.kind, up.status, up.replica], describeRun(up)).toEqual(["up", "succeeded", applier.id]);
    expect((await applier.json<ClusterRun & { planDigest: string | null }>(`/api/runs/${up.id}`)).planDigest).toBe(approved.approvedPlan);
    expect(await cloud(suite.kit().emu).bucketTags(bucketOf("m01"))).toMatchObject({ stack: "m01" });
  });

  it("SIGTERM to the replica running a stack: it interrupts the run after its grace, and the other replica runs the stack", { timeout: 420_000 }, async () => {
    const { repo, options } = await cluster(["s01"]);
    const stopping = await startReplica("r1", { ...options, extraArgs: ["--grace", "2"] });
    replicas = [stopping];
    await runOf(stopping, "s01", repo.head(), (r) => r.status === "succeeded", "the first apply");
    const slow = repo.commitAndPush({ [stackFile("s01")]: stackConfig({ pauseSeconds: "25", dataClass: "handed-over" }) }, "a slow change");
    await stopping.pushWebhook(slow);
    const running = await runOf(stopping, "s01", slow, (r) => r.status === "running", "the slow up to start");
    expect(running.replica).toBe(stopping.id);
    // The other replica joins while r1 runs the stack.
    replicas.push(await startReplica("r2", options));
    const [, staying] = replicas as [Replica, Replica];
    stopping.proc.kill("SIGTERM");
    await waitFor("r1 to exit", () => !stopping.alive(), 60_000);
    expect(stopping.proc.exitCode).toBe(0);
    const runs = await settledRuns(() => staying, 240_000, (rs) => rs.some((r) => r.revision === slow && r.status === "succeeded"));
    const atSlow = runs.filter((r) => r.revision === slow);
    expect(atSlow.find((r) => r.id === running.id)?.error ?? "").toMatch(/^interrupted: the service stopped/);
    const finished = atSlow.find((r) => r.status === "succeeded")!;
    expect([finished.trigger, finished.replica], atSlow.map(describeRun).join("; ")).toEqual(["retry", staying.id]);
    expect(await cloud(suite.kit().emu).bucketTags(bucketOf("s01"))).toMatchObject({ dataClass: "handed-over" });
    // It left the list of replicas as it stopped, not a lease later.
    expect((await staying.replicas()).replicas.map((r) => r.name)).toEqual(["r2"]);
  });

  it("a webhook redelivered to the other replica is answered as a duplicate and queues nothing", { timeout: 300_000 }, async () => {
    const { repo, options } = await cluster(["w01"], NO_DRIFT, { pollInterval: 3600 });
    replicas = await startReplicas(2, options);
    await runOf(replicas[0]!, "w01", repo.head(), (r) => r.status === "succeeded", "the first apply");
    const revision = repo.commitAndPush({ [stackFile("w01")]: stackConfig({ dataClass: "once" }) }, "a change");
    const body = JSON.stringify({ ref: "refs/heads/main", after: revision, repository: { full_name: "team/infra" } });
    const deliver = (r: Replica) =>
      fetch(`${r.url}/webhooks/github`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-github-event": "push", "x-github-delivery": "delivery-7e2f", "x-hub-signature-256": githubSignature(WEBHOOK_SECRET, body) },
        body,
      });
    expect((await deliver(replicas[0]!)).status).toBe(202);
    const again = await deliver(replicas[1]!);
    expect([again.status, await again.json()]).toEqual([200, { duplicate: true, delivery: "delivery-7e2f" }]);
    const runs = await settledRuns(() => replicas[1]!, 240_000, (rs) => rs.some((r) => r.revision === revision));
    expect(runs.filter((r) => r.revision === revision).map((r) => [r.kind, r.trigger, r.status])).toEqual([["up", "webhook", "succeeded"]]);
  });

  it("a replica cut off from the database mid-run stops its engine before the other replica takes the stack over", { timeout: 420_000 }, async () => {
    const { repo, options } = await cluster(["f01"], NO_DRIFT, { lease: 30 });
    const link = suite.closeAfter(await databaseLink(options.database));
    const cutOff = await startReplica("r1", { ...options, database: link.url });
    replicas = [cutOff];
    await runOf(cutOff, "f01", repo.head(), (r) => r.status === "succeeded", "the first apply");
    const slow = repo.commitAndPush({ [stackFile("f01")]: stackConfig({ pauseSeconds: "45", dataClass: "fenced" }) }, "a slow change");
    await cutOff.pushWebhook(slow);
    const running = await runOf(cutOff, "f01", slow, (r) => r.status === "running", "the slow up to start");
    expect(running.replica).toBe(cutOff.id);
    replicas.push(await startReplica("r2", options));
    const staying = replicas[1]!;
    const engine = () => processesUnder(cutOff.dataDir).some((p) => /pulumi/.test(p.cmd));
    await waitFor("r1's engine to work", engine, 60_000);
    const cutAt = Date.now();
    link.cut();
    let engineSeen = Date.now();
    const watch = setInterval(() => engine() && (engineSeen = Date.now()), 100);
    try {
      const replacement = await waitFor("r2 to run the stack again", async () => (await staying.runs()).find((r) => r.revision === slow && r.trigger === "retry" && r.startedAt !== null), 180_000);
      // No moment with both replicas' engines on the stack.
      expect(engineSeen, `r1's engine last seen ${engineSeen - cutAt} ms after the cut; r2 started ${Date.parse(replacement.startedAt!) - cutAt} ms after`).toBeLessThan(Date.parse(replacement.startedAt!));
      expect(cutOff.output()).toContain("lost the database: stopping the runs in hand");
      const interrupted = (await staying.runs()).find((r) => r.id === running.id)!;
      expect([interrupted.status, interrupted.error?.replace(/\(lease.*$/, "")]).toEqual(["interrupted", "interrupted: replica r1 stopped answering during the run "]);
      console.log(`cut off from the database (lease 30 s): r1's engine ended ${((engineSeen - cutAt) / 1000).toFixed(1)} s after the cut, r2 took the stack over ${((Date.parse(replacement.startedAt!) - cutAt) / 1000).toFixed(1)} s after it`);
    } finally {
      clearInterval(watch);
    }
  });
});
