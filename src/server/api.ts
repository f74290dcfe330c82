import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import type { Controller } from "../reconciler/index.ts";
import { StackdError } from "../support/index.ts";
import { ADMIN, OPERATE, READ, callerOf } from "./access.ts";
import { parseBody, parseQuery } from "./errors.ts";

/** What the API routes need. */
export interface ApiOptions {
  controller: Controller;
}

// Who may call what (see README's security section): reads need `read`,
// starting and stopping work `operate`, approvals and garbage collection `admin`.

const RUN_STATUSES = ["queued", "running", "succeeded", "failed", "blocked", "skipped", "interrupted", "awaiting_approval", "approved", "rejected", "superseded", "cancelled"] as const;

const RunsQuery = z.strictObject({
  stack: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  status: z.enum(RUN_STATUSES).optional(),
});

/** POST /api/stacks/:name/rollback: the applied revision to go back to. */
const RollbackBody = z.strictObject({ to: z.string().min(4).max(40) });

const PreviewsQuery = z.strictObject({
  pr: z.coerce.number().int().positive().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

type Named = { Params: { name?: string; project?: string; stack?: string } };

/** A stack's name from either route form: /stacks/:name or /stacks/:project/:stack. */
const stackParam = (req: FastifyRequest<Named>) => (req.params.project ? `${req.params.project}/${req.params.stack}` : req.params.name!);

/** The JSON API under /api: stacks, runs, drift, previews, approvals. Every route declares its role. */
export async function apiRoutes(app: FastifyInstance, opts: ApiOptions): Promise<void> {
  const { controller } = opts;

  const findStack = async (name: string) => (await controller.status()).find((s) => s.name === name || s.stack === name);
  const stackOr404 = async (name: string) => {
    const s = await findStack(name);
    if (!s) throw new StackdError(`no stack named "${name}"`, { kind: "not-found" });
    return s;
  };

  app.get("/api/stacks", READ, async () => ({ ...controller.info(), queueDepth: await controller.waitingRuns(), stacks: await controller.status() }));

  for (const route of ["/api/stacks/:name", "/api/stacks/:project/:stack"]) {
    app.get<Named>(route, READ, async (req) => stackOr404(stackParam(req)));
    app.post<Named>(`${route}/reconcile`, OPERATE, async (req, reply) => {
      return reply.code(202).send(await controller.reconcileStack(stackParam(req), callerOf(req)));
    });
    app.post<Named>(`${route}/rollback`, ADMIN, async (req, reply) => {
      const body = parseBody(RollbackBody, req.rawBody);
      return reply.code(202).send(await controller.rollback(stackParam(req), body.to, callerOf(req)));
    });
    app.post<Named>(`${route}/unpin`, ADMIN, async (req, reply) => {
      return reply.code(202).send(await controller.unpin(stackParam(req), callerOf(req)));
    });
    app.get<Named>(`${route}/drift`, READ, async (req) => {
      const s = await stackOr404(stackParam(req));
      return { stack: s.name, health: s.health, lastCheck: s.lastDriftCheck, episodes: await controller.ledger.drift.list({ stack: s.name, limit: 20 }) };
    });
    app.post<Named>(`${route}/drift`, OPERATE, async (req, reply) => {
      return reply.code(202).send(await controller.checkDrift(stackParam(req), "api", callerOf(req)));
    });
  }

  app.get("/api/replicas", READ, async () => controller.replicas());
  app.get("/api/graph", READ, async () => controller.graph());
  app.get("/api/drift", READ, async () => ({ open: await controller.ledger.drift.list({ status: "open" }) }));

  app.get("/api/previews", READ, async (req) => {
    const q = parseQuery(PreviewsQuery, req.query);
    // The list leaves the bulky bodies out; /api/previews/:id has them.
    const previews = (await controller.ledger.previews.list({ pr: q.pr, limit: q.limit })).map(({ report, markdown: _markdown, ...p }) => ({
      ...p,
      stacks: report?.stacks.map((s) => ({ stack: `${s.project}/${s.stack}`, status: s.status, changes: s.changes })) ?? [],
    }));
    return { previews };
  });
  app.get<{ Params: { id: string } }>("/api/previews/:id", READ, async (req) => {
    const preview = await controller.ledger.previews.get(req.params.id);
    if (!preview) throw new StackdError(`no preview ${req.params.id}`, { kind: "not-found" });
    return preview;
  });

  app.get("/api/runs", READ, async (req) => {
    const q = parseQuery(RunsQuery, req.query);
    const stack = q.stack ? ((await findStack(q.stack))?.name ?? q.stack) : undefined;
    return { runs: await controller.ledger.runs.list({ stack, limit: q.limit, status: q.status }) };
  });
  app.get<{ Params: { id: string } }>("/api/runs/:id", READ, async (req) => {
    const run = await controller.ledger.runs.get(req.params.id);
    if (!run) throw new StackdError(`no run ${req.params.id}`, { kind: "not-found" });
    return run;
  });

  app.post<{ Params: { id: string } }>("/api/runs/:id/cancel", OPERATE, async (req, reply) => {
    return reply.code(202).send(await controller.cancel(req.params.id, callerOf(req)));
  });

  app.post("/api/gc", ADMIN, async (req) => controller.gc(callerOf(req)));

  app.post<{ Params: { runId: string } }>("/api/approvals/:runId", ADMIN, async (req, reply) => {
    const up = await controller.approve(req.params.runId, callerOf(req));
    // The digest of the plan being applied, so the approver sees what they bound themselves to.
    return reply.code(202).send({ ...up, approvedPlan: (await controller.ledger.runs.get(req.params.runId))?.planDigest ?? null });
  });
  app.post<{ Params: { runId: string } }>("/api/approvals/:runId/reject", ADMIN, async (req) => controller.reject(req.params.runId, callerOf(req)));
}
