import type { FastifyInstance, FastifyRequest } from "fastify";
import { FailureLimiter, roleAllows, type Principal, type Role, type TokenRegistry } from "../access/index.ts";
import { StackdError } from "../support/index.ts";

/** Who may call a route: anyone (`public`), or a token with at least this role. */
export type Access = "public" | Role;

declare module "fastify" {
  interface FastifyContextConfig {
    /** Every route says who may call it; a route that does not is admin-only. */
    access?: Access;
  }
  interface FastifyRequest {
    /** The token's owner, on authenticated routes. */
    principal?: Principal;
  }
}

/** Route options declaring who may call a route, one per level of access. */
export const PUBLIC = { config: { access: "public" } } as const;
export const READ = { config: { access: "read" } } as const;
export const OPERATE = { config: { access: "operate" } } as const;
export const ADMIN = { config: { access: "admin" } } as const;

/** One route and who may call it, as registered. */
export interface RouteAccess {
  method: string;
  url: string;
  access: Access;
}

/** How the API is guarded. */
export interface AccessOptions {
  tokens: TokenRegistry;
  /** Failed authentications per address and minute before it gets 429. */
  failureLimit?: number;
  /** /metrics without a token. */
  metricsPublic?: boolean;
}

function bearer(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  const m = typeof h === "string" ? /^Bearer\s+(\S+)\s*$/i.exec(h) : null;
  return m?.[1];
}

/**
 * Guards every route by the access it declares: a bearer token from the
 * registry with a role high enough, or 401/403. An address that keeps
 * failing is refused with 429 for a while. Returns the route table, filled
 * as routes register, so what is public can be listed and tested.
 */
export function guardRoutes(app: FastifyInstance, opts: AccessOptions): RouteAccess[] {
  const table: RouteAccess[] = [];
  const limiter = new FailureLimiter(opts.failureLimit ?? 20);
  app.addHook("onRoute", (route) => {
    const config = (route.config ?? {}) as { access?: Access };
    let access: Access = config.access ?? "admin";
    if (route.url === "/metrics" && opts.metricsPublic) access = "public";
    route.config = { ...config, access };
    for (const method of [route.method].flat()) if (method !== "HEAD") table.push({ method, url: route.url, access });
  });
  app.addHook("onRequest", async (req, reply) => {
    // Unknown paths under /api need a token too: their 404 tells nothing to strangers.
    const access: Access = req.routeOptions.config?.access ?? (req.url.startsWith("/api") ? "read" : "public");
    if (access === "public") return;
    const wait = limiter.retryAfter(req.ip);
    if (wait > 0) {
      reply.header("retry-after", String(wait));
      throw new StackdError(`too many failed authentications from ${req.ip}: try again in ${wait} s`, { kind: "throttled" });
    }
    const token = bearer(req);
    const principal = token ? opts.tokens.verify(token) : undefined;
    if (!principal) {
      limiter.fail(req.ip);
      throw new StackdError(token ? "the bearer token is not valid" : "a bearer token is required: Authorization: Bearer <token>", { kind: "auth" });
    }
    if (!roleAllows(principal.role, access)) {
      throw new StackdError(`the token "${principal.name}" has the role ${principal.role}; this needs ${access}`, { kind: "forbidden" });
    }
    req.principal = principal;
  });
  return table;
}

/** The name recorded for a call: its token's name. */
export const callerOf = (req: FastifyRequest): string => req.principal?.name ?? "anonymous";
