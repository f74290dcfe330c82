import type { FastifyInstance } from "fastify";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Controller } from "../reconciler/index.ts";
import type { Run } from "../ledger/index.ts";
import { PUBLIC, READ } from "./access.ts";

/** Prometheus metrics of one service: runs, durations, queue depth, stacks by condition. */
export function createMetrics(controller: Controller): Registry {
  const registry = new Registry();
  const runs = new Counter({ name: "stackd_runs_total", help: "Finished runs by kind and result", labelNames: ["kind", "result"], registers: [registry] });
  const durations = new Histogram({
    name: "stackd_run_duration_seconds",
    help: "Run wall time by kind",
    labelNames: ["kind"],
    buckets: [1, 5, 10, 30, 60, 120, 300, 900],
    registers: [registry],
  });
  new Gauge({
    name: "stackd_queue_depth",
    help: "Runs waiting to start (with replicas: across the cluster)",
    registers: [registry],
    async collect() {
      this.set(await controller.waitingRuns());
    },
  });
  new Gauge({
    name: "stackd_stacks",
    help: "Stacks by condition",
    labelNames: ["condition"],
    registers: [registry],
    async collect() {
      const counts: Record<string, number> = { Ready: 0, Reconciling: 0, Failing: 0, Stalled: 0, AwaitingApproval: 0, Pinned: 0, Orphaned: 0 };
      for (const s of await controller.status()) for (const c of s.conditions) counts[c] = (counts[c] ?? 0) + 1;
      for (const [condition, n] of Object.entries(counts)) this.set({ condition }, n);
    },
  });
  controller.events.on("finished", (run: Run, seconds: number) => {
    runs.inc({ kind: run.kind, result: run.status });
    durations.observe({ kind: run.kind }, seconds);
  });
  return registry;
}

/**
 * /metrics for Prometheus (a read token unless --metrics-public), and the
 * probes anyone may call: /healthz (up) and /readyz (a revision is fetched).
 * The probes answer one word: no URL or error reaches a stranger.
 */
export async function metricsRoutes(app: FastifyInstance, opts: { controller: Controller }): Promise<void> {
  const { controller } = opts;
  const metrics = createMetrics(controller);
  app.get("/metrics", READ, async (_req, reply) => {
    reply.header("content-type", metrics.contentType);
    return metrics.metrics();
  });
  app.get("/healthz", PUBLIC, async (_req, reply) => reply.type("text/plain").send("up"));
  app.get("/readyz", PUBLIC, async (_req, reply) => {
    const ready = !!controller.info().head;
    return reply.code(ready ? 200 : 503).type("text/plain").send(ready ? "ready" : "unready");
  });
}
