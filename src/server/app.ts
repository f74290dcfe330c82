import zlib from "node:zlib";
import fastifyCompress from "@fastify/compress";
import fastifyCookie from "@fastify/cookie";
import Fastify, { type FastifyInstance } from "fastify";
import { Sessions, type FailureLimiter, type TokenRegistry } from "../access/index.ts";
import type { Controller } from "../reconciler/index.ts";
import { mask } from "../support/index.ts";
import { guardRoutes, type RouteAccess } from "./access.ts";
import { apiRoutes } from "./api.ts";
import { dashboardRoutes } from "./dashboard/index.ts";
import { httpError, sendError } from "./errors.ts";
import { metricsRoutes } from "./metrics.ts";
import { webhookRoutes } from "./webhooks.ts";

/** How the HTTP server is set up. */
export interface ServerOptions {
  controller: Controller;
  /** The bearer tokens the API accepts, with their roles. */
  tokens: TokenRegistry;
  /** Failed authentications per address and minute before it is refused with 429 (default 20). */
  failureLimit?: number;
  /** Serve /metrics without a token. */
  metricsPublic?: boolean;
  /** Serve HTTPS with this certificate and key (PEM). */
  tls?: { cert: Buffer; key: Buffer };
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
  interface FastifyInstance {
    /** Every route with who may call it. */
    routeAccess: RouteAccess[];
    /** Failed authentications per address, shared by the API and the dashboard's sign-in. */
    authFailures: FailureLimiter;
  }
}

/** The HTTP face of the service: one fastify plugin per area (API, webhooks, metrics and probes, dashboard). */
export async function buildServer(opts: ServerOptions): Promise<FastifyInstance> {
  const bodyLimit = opts.bodyLimit ?? 1024 * 1024;
  const app = Fastify({ bodyLimit, logger: opts.logger ?? false, ...(opts.tls ? { https: opts.tls } : {}) }) as unknown as FastifyInstance;
  // Cookies are parsed before the guard reads the dashboard's session.
  await app.register(fastifyCookie);
  const sessions = new Sessions(opts.tokens);
  const guard = guardRoutes(app, { ...opts, sessions });
  app.decorate("routeAccess", guard.table);
  app.decorate("authFailures", guard.limiter);

  // Signatures are computed over the exact bytes received, so the raw body is kept.
  app.addContentTypeParser(["application/json", "application/x-www-form-urlencoded", "text/plain"], { parseAs: "buffer" }, (req, body, done) => {
    req.rawBody = body as Buffer;
    done(null, undefined);
  });
  // Every response passes through the masking function, whatever produced it.
  app.addHook("onSend", async (_req, _reply, payload) => (typeof payload === "string" ? mask(payload) : payload));
  // Registered after the masking hook, so what is compressed is already masked. A
  // stacks page of 1,000 stacks is 700 KB of HTML; brotli at a fast level keeps it small
  // without costing the service much CPU.
  await app.register(fastifyCompress, { encodings: ["br", "gzip"], brotliOptions: { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4 } } });
  app.setErrorHandler((err, _req, reply) => {
    const { status, message } = httpError(err, bodyLimit);
    return sendError(reply, status, message);
  });

  await app.register(metricsRoutes, { controller: opts.controller });
  await app.register(apiRoutes, { controller: opts.controller });
  await app.register(webhookRoutes, { controller: opts.controller, webhookSecret: opts.webhookSecret });
  await app.register(dashboardRoutes, { controller: opts.controller, sessions, secureCookies: !!opts.tls });
  return app;
}
