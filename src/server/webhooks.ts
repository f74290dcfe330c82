import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Controller } from "../reconciler/index.ts";
import { StackdError, messageOf } from "../support/index.ts";
import { PUBLIC } from "./access.ts";
import { zodReason } from "./errors.ts";
import { GitPushSchema, GithubPullRequestSchema, GithubPushSchema, validGithubSignature, validSharedSecret } from "./webhook-payloads.ts";

/** What the webhook routes need. */
export interface WebhookOptions {
  controller: Controller;
  /** GitHub's webhook secret, and the generic webhook's shared secret. Webhooks are refused without it. */
  webhookSecret?: string;
}

const usage = (message: string) => new StackdError(message, { kind: "usage" });
const auth = (message: string) => new StackdError(message, { kind: "auth" });

/** A webhook body: JSON, or GitHub's form encoding (payload=<json>). */
function parseJson(req: FastifyRequest): unknown {
  const raw = req.rawBody?.toString("utf8") ?? "";
  if (raw.trim() === "") return null;
  try {
    const ct = String(req.headers["content-type"] ?? "");
    if (ct.startsWith("application/x-www-form-urlencoded")) return JSON.parse(new URLSearchParams(raw).get("payload") ?? "");
    return JSON.parse(raw);
  } catch (err) {
    throw usage(`body is not valid JSON: ${messageOf(err)}`);
  }
}

/** Push and pull request webhooks: GitHub's (HMAC-signed) and a generic one (shared secret). */
export async function webhookRoutes(app: FastifyInstance, opts: WebhookOptions): Promise<void> {
  const { controller } = opts;
  const secret = () => {
    if (!opts.webhookSecret) throw auth("webhooks are disabled: start stackd with STACKD_WEBHOOK_SECRET set");
    return opts.webhookSecret;
  };
  const accepted = (detail: object) => {
    const receivedAt = new Date().toISOString();
    controller.sync("webhook").catch(() => {});
    return { accepted: true, receivedAt, ...detail };
  };

  // Webhooks are PUBLIC: they authenticate by their own signature, not a bearer token.
  app.post("/webhooks/github", PUBLIC, async (req, reply) => {
    const signature = req.headers["x-hub-signature-256"] as string | undefined;
    if (!validGithubSignature(secret(), req.rawBody ?? Buffer.alloc(0), signature)) {
      throw auth(signature ? "X-Hub-Signature-256 does not match the body" : "X-Hub-Signature-256 header missing");
    }
    // A signed delivery is accepted once: a captured one replayed queues nothing.
    const delivery = req.headers["x-github-delivery"];
    if (typeof delivery === "string" && delivery !== "" && !(await controller.ledger.deliveries.accept(delivery))) {
      return reply.code(200).send({ duplicate: true, delivery });
    }
    const event = String(req.headers["x-github-event"] ?? "");
    const body = parseJson(req);
    if (event === "ping") return { pong: true };
    if (event === "pull_request") {
      const pr = GithubPullRequestSchema.safeParse(body);
      if (!pr.success) throw usage(`not a pull_request event payload: ${zodReason(pr.error)}`);
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
    const push = GithubPushSchema.safeParse(body);
    if (!push.success) throw usage(`not a push event payload: ${zodReason(push.error)}`);
    const branch = controller.info().branch;
    if (branch && push.data.ref !== `refs/heads/${branch}`) return reply.code(202).send({ ignored: `${push.data.ref} is not the watched branch ${branch}` });
    return reply.code(202).send(accepted({ revision: push.data.after }));
  });

  app.post("/webhooks/git", PUBLIC, async (req, reply) => {
    if (!validSharedSecret(secret(), req.headers["x-stackd-secret"] as string | undefined)) throw auth("X-Stackd-Secret header missing or wrong");
    const push = GitPushSchema.safeParse(parseJson(req));
    if (!push.success) throw usage(zodReason(push.error));
    return reply.code(202).send(accepted({ revision: push.data?.revision ?? null }));
  });
}
