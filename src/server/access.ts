import type { FastifyInstance, FastifyRequest } from "fastify";
import { FailureLimiter, SESSION_COOKIE, roleAllows, type Principal, type Role, type Sessions, type TokenRegistry } from "../access/index.ts";
import { StackdError } from "../support/index.ts";

/** Who may call a route: anyone (`public`), or a token with at least this role. */
export type Access = "public" | Role;

declare module "fastify" {
  interface FastifyContextConfig {
    /** Every route says who may call it; a route that does not is admin-only. */
    access?: Access;
    /**
     * The dashboard's routes also accept a browser session (the cookie of
     * POST /ui/session). A page without one sends the browser to sign in;
     * anything else answers 401.
     */
    session?: "page" | "action";
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
  /** The dashboard's browser sessions. */
  sessions?: Sessions;
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

/** Whether a request names no other site as its origin (browsers send Origin on every POST). */
function sameOrigin(req: FastifyRequest): boolean {
  const origin = req.headers.origin;
  if (!origin) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

/**
 * Guards every route by the access it declares: a bearer token from the
 * registry with a role high enough (or, on the dashboard's routes, a browser
 * session), or 401/403. An address that keeps failing is refused with 429
 * for a while. Returns the route table, filled as routes register, so what
 * is public can be listed and tested, and the failure limiter, which the
 * sign-in form shares.
 */
export function guardRoutes(app: FastifyInstance, opts: AccessOptions): { table: RouteAccess[]; limiter: FailureLimiter } {
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
    const session = req.routeOptions.config?.session;
    const fromSession = !token && session ? opts.sessions?.principal(req.cookies?.[SESSION_COOKIE]) : undefined;
    const principal = token ? opts.tokens.verify(token) : fromSession;
    if (!principal && !token && session) {
      // A browser without a session is not guessing tokens: it is sent to sign in.
      if (session === "page" && req.method === "GET") return reply.redirect(`/sign-in?next=${encodeURIComponent(req.url)}`, 303);
      throw new StackdError("sign in first: this needs a dashboard session or a bearer token", { kind: "auth" });
    }
    if (!principal) {
      limiter.fail(req.ip);
      throw new StackdError(token ? "the bearer token is not valid" : "a bearer token is required: Authorization: Bearer <token>", { kind: "auth" });
    }
    if (!roleAllows(principal.role, access)) {
      throw new StackdError(`the token "${principal.name}" has the role ${principal.role}; this needs ${access}`, { kind: "forbidden" });
    }
    // The session cookie is SameSite=Strict; a form posted from another site is refused as well.
    if (fromSession && req.method !== "GET" && !sameOrigin(req)) throw new StackdError("a request from another site was refused", { kind: "forbidden" });
    req.principal = principal;
  });
  return { table, limiter };
}

/** The name recorded for a call: its token's name. */
export const callerOf = (req: FastifyRequest): string => req.principal?.name ?? "anonymous";
