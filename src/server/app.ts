import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { z } from "zod";
import { mask } from "../support/index.ts";
import { ApprovalError, type Controller } from "../reconciler/index.ts";
import { StackdError, messageOf } from "../support/index.ts";
import { createMetrics } from "./metrics.ts";
import { GitPushSchema, GithubPullRequestSchema, GithubPushSchema, validGithubSignature, validSharedSecret } from "./webhooks.ts";

export interface ServerOptions {
  controller: Controller;
  /** Required as a bearer token on every write to /api when set. */
  apiToken?: string;
  /** GitHub's webhook secret, and the generic webhook's shared secret. Webhooks are refused without it. */
  webhookSecret?: string;
  /** Largest accepted request body, bytes. */
  bodyLimit?: number;
  logger?: FastifyInstance["log"] | boolean;
}

declare module "fastify" {
  interface FastifyRequest {
    rawBody?: Buffer;
  }
}

const RunsQuery = z.object({
  stack: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  status: z.string().optional(),
});

/** The HTTP face of the service: API, webhooks, health and metrics. */
export async function buildServer(opts: ServerOptions): Promise<FastifyInstance> {
  const { controller } = opts;
  const app = Fastify({ bodyLimit: opts.bodyLimit ?? 1024 * 1024, logger: opts.logger ?? false });
  const metrics = createMetrics(controller);

  // Signatures are computed over the exact bytes received, so the raw body is kept.
  app.addContentTypeParser(["application/json", "application/x-www-form-urlencoded", "text/plain"], { parseAs: "buffer" }, (req, body, done) => {
    req.rawBody = body as Buffer;
    done(null, undefined);
  });

  const fail = (reply: FastifyReply, code: number, error: string) => reply.code(code).send({ error: mask(error) });

  function parseJson(req: FastifyRequest): { ok: true; value: unknown } | { ok: false; error: string } {
    const raw = req.rawBody?.toString("utf8") ?? "";
    if (raw.trim() === "") return { ok: true, value: null };
    try {
      const ct = String(req.headers["content-type"] ?? "");
      // GitHub can send form-encoded payloads: payload=<json>.
      if (ct.startsWith("application/x-www-form-urlencoded")) return { ok: true, value: JSON.parse(new URLSearchParams(raw).get("payload") ?? "") };
      return { ok: true, value: JSON.parse(raw) };
    } catch (err) {
      return { ok: false, error: `body is not valid JSON: ${messageOf(err)}` };
    }
  }

  const zodReason = (e: z.ZodError) => e.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ");

  function authorizeWrite(req: FastifyRequest, reply: FastifyReply): boolean {
    if (!opts.apiToken) return true;
    if (validSharedSecret(`Bearer ${opts.apiToken}`, req.headers.authorization)) return true;
    fail(reply, 401, "a bearer token is required: Authorization: Bearer <STACKD_API_TOKEN>");
    return false;
  }

  function triggerSync(reply: FastifyReply, detail: object) {
    const started = Date.now();
    controller.sync("webhook").catch(() => {});
    return reply.code(202).send({ accepted: true, receivedAt: new Date(started).toISOString(), ...detail });
  }

  // Every response passes through the masking function, whatever produced it.
  app.addHook("onSend", async (_req, _reply, payload) => (typeof payload === "string" ? mask(payload) : payload));

  app.setErrorHandler((err, _req, reply) => {
    const status = (err as { statusCode?: number }).statusCode ?? 500;
    if (status === 413) return fail(reply, 413, `body too large (limit ${opts.bodyLimit ?? 1024 * 1024} bytes)`);
    if (status < 500) return fail(reply, status, messageOf(err));
    return fail(reply, 500, messageOf(err));
  });

  app.get("/healthz", async () => ({ ok: true }));

  app.get("/readyz", async (_req, reply) => {
    const info = controller.info();
    if (!info.head) return reply.code(503).send({ ready: false, reason: mask(info.syncError ?? "no revision fetched yet") });
    return { ready: true, head: info.head };
  });

  app.get("/metrics", async (_req, reply) => {
    reply.header("content-type", metrics.contentType);
    return metrics.metrics();
  });

  app.get("/api/stacks", async () => ({ ...controller.info(), stacks: controller.status() }));

  const findStack = (name: string) => controller.status().find((s) => s.name === name || s.stack === name);

  const getStack = async (name: string, reply: FastifyReply) => {
    const s = findStack(name);
    if (!s) return fail(reply, 404, `no stack named "${name}"`);
    return s;
  };
  app.get<{ Params: { name: string } }>("/api/stacks/:name", (req, reply) => getStack(req.params.name, reply));
  app.get<{ Params: { project: string; stack: string } }>("/api/stacks/:project/:stack", (req, reply) =>
    getStack(`${req.params.project}/${req.params.stack}`, reply),
  );

  const postReconcile = async (name: string, req: FastifyRequest, reply: FastifyReply) => {
    if (!authorizeWrite(req, reply)) return reply;
    try {
      const run = await controller.reconcileStack(name);
      return reply.code(202).send(run);
    } catch (err) {
      return fail(reply, err instanceof StackdError ? 404 : 500, messageOf(err));
    }
  };
  app.post<{ Params: { name: string } }>("/api/stacks/:name/reconcile", (req, reply) => postReconcile(req.params.name, req, reply));
  app.post<{ Params: { project: string; stack: string } }>("/api/stacks/:project/:stack/reconcile", (req, reply) =>
    postReconcile(`${req.params.project}/${req.params.stack}`, req, reply),
  );

  app.get("/api/drift", async () => ({ open: controller.ledger.drift.list({ status: "open" }) }));

  const PreviewsQuery = z.object({ pr: z.coerce.number().int().positive().optional(), limit: z.coerce.number().int().min(1).max(500).default(50) });
  app.get("/api/previews", async (req, reply) => {
    const q = PreviewsQuery.safeParse(req.query);
    if (!q.success) return fail(reply, 400, zodReason(q.error));
    // The list leaves the bulky bodies out; /api/previews/:id has them.
    const previews = controller.ledger.previews.list({ pr: q.data.pr, limit: q.data.limit }).map(({ report, markdown, ...p }) => ({
      ...p,
      stacks: report?.stacks.map((s) => ({ stack: `${s.project}/${s.stack}`, status: s.status, changes: s.changes })) ?? [],
    }));
    return { previews };
  });
  app.get<{ Params: { id: string } }>("/api/previews/:id", async (req, reply) => {
    return controller.ledger.previews.get(req.params.id) ?? fail(reply, 404, `no preview ${req.params.id}`);
  });

  const getDrift = async (name: string, reply: FastifyReply) => {
    const s = findStack(name);
    if (!s) return fail(reply, 404, `no stack named "${name}"`);
    return { stack: s.name, health: s.health, lastCheck: s.lastDriftCheck, episodes: controller.ledger.drift.list({ stack: s.name, limit: 20 }) };
  };
  app.get<{ Params: { name: string } }>("/api/stacks/:name/drift", (req, reply) => getDrift(req.params.name, reply));
  app.get<{ Params: { project: string; stack: string } }>("/api/stacks/:project/:stack/drift", (req, reply) =>
    getDrift(`${req.params.project}/${req.params.stack}`, reply),
  );

  const postDrift = async (name: string, req: FastifyRequest, reply: FastifyReply) => {
    if (!authorizeWrite(req, reply)) return reply;
    try {
      return reply.code(202).send(await controller.checkDrift(name, "api"));
    } catch (err) {
      const kind = err instanceof StackdError ? err.kind : "runtime";
      return fail(reply, kind === "usage" ? 404 : kind === "config" ? 409 : 500, messageOf(err));
    }
  };
  app.post<{ Params: { name: string } }>("/api/stacks/:name/drift", (req, reply) => postDrift(req.params.name, req, reply));
  app.post<{ Params: { project: string; stack: string } }>("/api/stacks/:project/:stack/drift", (req, reply) =>
    postDrift(`${req.params.project}/${req.params.stack}`, req, reply),
  );

  app.get("/api/runs", async (req, reply) => {
    const q = RunsQuery.safeParse(req.query);
    if (!q.success) return fail(reply, 400, zodReason(q.error));
    const stack = q.data.stack ? (findStack(q.data.stack)?.name ?? q.data.stack) : undefined;
    return { runs: controller.ledger.runs.list({ stack, limit: q.data.limit, status: q.data.status as never }) };
  });

  app.get<{ Params: { id: string } }>("/api/runs/:id", async (req, reply) => {
    const run = controller.ledger.runs.get(req.params.id);
    return run ?? fail(reply, 404, `no run ${req.params.id}`);
  });

  app.post<{ Params: { runId: string } }>("/api/approvals/:runId", async (req, reply) => {
    if (!authorizeWrite(req, reply)) return reply;
    try {
      return reply.code(202).send(await controller.approve(req.params.runId));
    } catch (err) {
      if (err instanceof ApprovalError) return fail(reply, err.status, err.message);
      throw err;
    }
  });

  app.post("/webhooks/github", async (req, reply) => {
    if (!opts.webhookSecret) return fail(reply, 401, "webhooks are disabled: start stackd with STACKD_WEBHOOK_SECRET set");
    const signature = req.headers["x-hub-signature-256"] as string | undefined;
    if (!validGithubSignature(opts.webhookSecret, req.rawBody ?? Buffer.alloc(0), signature)) {
      return fail(reply, 401, signature ? "X-Hub-Signature-256 does not match the body" : "X-Hub-Signature-256 header missing");
    }
    const event = String(req.headers["x-github-event"] ?? "");
    const body = parseJson(req);
    if (!body.ok) return fail(reply, 400, body.error);
    if (event === "ping") return { pong: true };
    if (event === "pull_request") {
      const pr = GithubPullRequestSchema.safeParse(body.value);
      if (!pr.success) return fail(reply, 400, `not a pull_request event payload: ${zodReason(pr.error)}`);
      const { action, number, pull_request: p, repository } = pr.data;
      if (!["opened", "synchronize", "reopened"].includes(action)) return reply.code(202).send({ ignored: `pull_request action "${action}"` });
      const preview = await controller.previewPullRequest({
        repo: repository.full_name,
        number,
        headSha: p.head.sha,
        baseRef: p.base.ref,
        fork: p.head.repo?.full_name !== p.base.repo.full_name,
      });
      return reply.code(202).send({ preview: preview.id, status: preview.status, reason: preview.error ?? undefined });
    }
    if (event !== "push") return reply.code(202).send({ ignored: `event "${event}" is not handled` });
    const push = GithubPushSchema.safeParse(body.value);
    if (!push.success) return fail(reply, 400, `not a push event payload: ${zodReason(push.error)}`);
    const branch = controller.info().branch;
    if (branch && push.data.ref !== `refs/heads/${branch}`) return reply.code(202).send({ ignored: `${push.data.ref} is not the watched branch ${branch}` });
    return triggerSync(reply, { revision: push.data.after });
  });

  app.post("/webhooks/git", async (req, reply) => {
    if (!opts.webhookSecret) return fail(reply, 401, "webhooks are disabled: start stackd with STACKD_WEBHOOK_SECRET set");
    if (!validSharedSecret(opts.webhookSecret, req.headers["x-stackd-secret"] as string | undefined)) {
      return fail(reply, 401, "X-Stackd-Secret header missing or wrong");
    }
    const body = parseJson(req);
    if (!body.ok) return fail(reply, 400, body.error);
    const push = GitPushSchema.safeParse(body.value);
    if (!push.success) return fail(reply, 400, zodReason(push.error));
    return triggerSync(reply, { revision: push.data?.revision ?? null });
  });

  return app;
}
