import Fastify, { type FastifyInstance } from "fastify";
import type { Controller } from "../reconciler/index.ts";
import { mask } from "../support/index.ts";
import { apiRoutes } from "./api.ts";
import { httpError, sendError } from "./errors.ts";
import { metricsRoutes } from "./metrics.ts";
import { webhookRoutes } from "./webhooks.ts";

/** How the HTTP server is set up. */
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

/** The HTTP face of the service: one fastify plugin per area (API, webhooks, metrics and probes). */
export async function buildServer(opts: ServerOptions): Promise<FastifyInstance> {
  const bodyLimit = opts.bodyLimit ?? 1024 * 1024;
  const app = Fastify({ bodyLimit, logger: opts.logger ?? false });

  // Signatures are computed over the exact bytes received, so the raw body is kept.
  app.addContentTypeParser(["application/json", "application/x-www-form-urlencoded", "text/plain"], { parseAs: "buffer" }, (req, body, done) => {
    req.rawBody = body as Buffer;
    done(null, undefined);
  });
  // Every response passes through the masking function, whatever produced it.
  app.addHook("onSend", async (_req, _reply, payload) => (typeof payload === "string" ? mask(payload) : payload));
  app.setErrorHandler((err, _req, reply) => {
    const { status, message } = httpError(err, bodyLimit);
    return sendError(reply, status, message);
  });

  await app.register(metricsRoutes, { controller: opts.controller });
  await app.register(apiRoutes, { controller: opts.controller, apiToken: opts.apiToken });
  await app.register(webhookRoutes, { controller: opts.controller, webhookSecret: opts.webhookSecret });
  return app;
}
