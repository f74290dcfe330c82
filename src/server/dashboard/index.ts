// The web dashboard: server-rendered pages under /, live over server-sent
// events, with a small script and stylesheet built by `npm run setup`.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { html } from "htm/preact";
import type { VNode } from "preact";
import { z } from "zod";
import { SESSION_COOKIE, type Principal, type Role, type Sessions } from "../../access/index.ts";
import type { Run } from "../../ledger/index.ts";
import type { Controller } from "../../reconciler/index.ts";
import { StackdError } from "../../support/index.ts";
import { PUBLIC, callerOf } from "../access.ts";
import { httpError, parseQuery, sendError, zodReason } from "../errors.ts";
import { assetUrls, loadAssets } from "./assets.ts";
import { LiveLogs } from "./live-logs.ts";
import { openEventStream, type EventStream } from "./sse.ts";
import { documentOf, errorDocument, type Frame } from "./views/layout.ts";
import { PreviewPage, PreviewsPage } from "./views/previews.ts";
import { RunPage, commitLinks } from "./views/run.ts";
import { SignIn } from "./views/sign-in.ts";
import { StackPage } from "./views/stack.ts";
import { FILTERS, StacksPage, rowHtml, stackHref } from "./views/stacks.ts";

export { ASSETS_DIR, loadAssets } from "./assets.ts";

/** Whether `npm run setup` built the dashboard's script and stylesheet (the pages work without them, unstyled and not live). */
export const dashboardBuilt = (): boolean => loadAssets().size > 0;

/** What the dashboard needs. */
export interface DashboardOptions {
  controller: Controller;
  sessions: Sessions;
  /** Mark the session cookie Secure (the service speaks HTTPS). */
  secureCookies: boolean;
}

/** A page: without a session the browser is sent to sign in. */
const PAGE = (access: Role) => ({ config: { access, session: "page" as const } });
/** A button's POST or a live feed: without a session, 401. */
const ACTION = (access: Role) => ({ config: { access, session: "action" as const } });
const RUNS_PER_PAGE = 20;
/** The live feeds: their errors are JSON, like the API's. */
const STREAMS = new Set(["/ui/events", "/ui/runs/:id/log"]);

const SignInForm = z.object({ token: z.string().trim().min(1, "a token is required"), next: z.string().optional() });
const StacksQuery = z.object({ q: z.string().optional(), condition: z.enum(FILTERS).or(z.literal("")).optional() });
const PageQuery = z.object({ page: z.coerce.number().int().min(1).max(100_000).default(1) });

/**
 * What a button did, told on the page it leads to. The URL names only which
 * notice: no text of its own can be put on a page through a link.
 */
const NOTICES = {
  reconcile: "Reconcile queued.",
  drift: "Drift check queued: this page updates when it ends.",
  approved: "Approved: applying exactly the approved plan.",
  rejected: "Rejected: this plan will not be applied.",
  cancelling: "Cancelling.",
} as const;

/** Where to go after signing in: only a path on this site. */
const safeNext = (next: string | undefined): string => (next && /^\/(?![/\\])/.test(next) ? next : "/");

/** A form or JSON body, as the raw bytes the server keeps. */
function bodyOf(req: FastifyRequest): Record<string, unknown> {
  const text = req.rawBody?.toString("utf8") ?? "";
  if (String(req.headers["content-type"] ?? "").includes("json")) {
    try {
      return JSON.parse(text || "{}") as Record<string, unknown>;
    } catch {
      throw new StackdError("the body is not JSON", { kind: "usage" });
    }
  }
  return Object.fromEntries(new URLSearchParams(text));
}

/** The dashboard's pages, its live feeds and the actions its buttons post. */
export async function dashboardRoutes(app: FastifyInstance, opts: DashboardOptions): Promise<void> {
  const { controller, sessions } = opts;
  const assets = loadAssets();
  const urls = assetUrls(assets);
  const logs = new LiveLogs(controller.events);
  const streams = new Set<EventStream>();
  const commitUrl = commitLinks(controller.repo);

  const frame = (req: FastifyRequest, title: string, extra: Partial<Frame> = {}): Frame => ({ title, principal: req.principal, assets: urls, ...extra });
  const sendPage = (reply: FastifyReply, doc: string, status = 200) => reply.code(status).type("text/html; charset=utf-8").header("cache-control", "no-store").send(doc);
  const page = (req: FastifyRequest, reply: FastifyReply, title: string, content: VNode, extra: Partial<Frame> = {}) =>
    sendPage(reply, documentOf(frame(req, title, extra), content));
  const principalOf = (req: FastifyRequest): Principal => req.principal!;
  const findStack = async (name: string) => {
    const s = (await controller.status()).find((x) => x.name === name);
    if (!s) throw new StackdError(`no stack named "${name}"`, { kind: "not-found" });
    return s;
  };
  const findRun = async (id: string) => {
    const run = await controller.ledger.runs.get(id);
    if (!run) throw new StackdError(`no run ${id}`, { kind: "not-found" });
    return run;
  };

  // Errors of pages and buttons come back as a page; those of the live feeds as JSON.
  app.setErrorHandler((err, req, reply) => {
    const { status, message } = httpError(err, 1024 * 1024);
    if (req.routeOptions.config?.session && !STREAMS.has(req.routeOptions.url ?? "")) {
      return sendPage(reply, errorDocument(frame(req, "Error"), status, message), status);
    }
    return sendError(reply, status, message);
  });

  // Everything stackd serves is its own: no script, style or frame from elsewhere.
  app.addHook("onSend", async (_req, reply, payload) => {
    if (String(reply.getHeader("content-type") ?? "").startsWith("text/html")) {
      reply.header("content-security-policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
      reply.header("x-content-type-options", "nosniff");
    }
    return payload;
  });

  app.get<{ Params: { name: string }; Querystring: { v?: string } }>("/assets/:name", PUBLIC, async (req, reply) => {
    const asset = assets.get(req.params.name);
    if (!asset) throw new StackdError(`no asset ${req.params.name} (the dashboard is built by \`npm run setup\`)`, { kind: "not-found" });
    reply.type(asset.type).header("x-content-type-options", "nosniff");
    reply.header("cache-control", req.query.v === asset.hash ? "public, max-age=31536000, immutable" : "no-cache");
    return reply.send(asset.body);
  });

  // --- signing in and out -----------------------------------------------------
  app.get<{ Querystring: { next?: string } }>("/sign-in", PUBLIC, async (req, reply) => {
    if (sessions.principal(req.cookies[SESSION_COOKIE])) return reply.redirect(safeNext(req.query.next), 303);
    return page(req, reply, "Sign in", html`<${SignIn} next=${safeNext(req.query.next)} />`);
  });

  app.post("/ui/session", PUBLIC, async (req, reply) => {
    const wait = app.authFailures.retryAfter(req.ip);
    if (wait > 0) {
      reply.header("retry-after", String(wait));
      throw new StackdError(`too many failed sign-ins from ${req.ip}: try again in ${wait} s`, { kind: "throttled" });
    }
    const form = SignInForm.safeParse(bodyOf(req));
    const next = safeNext(form.success ? form.data.next : undefined);
    const session = form.success ? sessions.open(form.data.token) : undefined;
    if (!session) {
      app.authFailures.fail(req.ip);
      const error = form.success ? "That token is not valid." : zodReason(form.error);
      return sendPage(reply, documentOf(frame(req, "Sign in"), html`<${SignIn} next=${next} error=${error} />`), form.success ? 401 : 400);
    }
    // No Expires: the cookie ends with the browser session.
    reply.setCookie(SESSION_COOKIE, session.id, { httpOnly: true, sameSite: "strict", path: "/", secure: opts.secureCookies });
    return reply.redirect(next, 303);
  });

  app.post("/ui/sign-out", ACTION("read"), async (req, reply) => {
    sessions.close(req.cookies[SESSION_COOKIE]);
    reply.clearCookie(SESSION_COOKIE, { path: "/" });
    return reply.redirect("/sign-in", 303);
  });

  // --- pages ------------------------------------------------------------------
  app.get("/", PAGE("read"), async (req, reply) => {
    const q = parseQuery(StacksQuery, req.query);
    const filter = { q: q.q || undefined, condition: q.condition || undefined };
    return page(req, reply, "Stacks", html`<${StacksPage} stacks=${await controller.status()} filter=${filter} info=${controller.info()} />`, { section: "stacks" });
  });

  app.get<{ Params: { project: string; stack: string } }>("/stacks/:project/:stack", PAGE("read"), async (req, reply) => {
    const status = await findStack(`${req.params.project}/${req.params.stack}`);
    const { page: n } = parseQuery(PageQuery, req.query);
    const runs = await controller.ledger.runs.list({ stack: status.name, limit: RUNS_PER_PAGE + 1, offset: (n - 1) * RUNS_PER_PAGE });
    const content = html`<${StackPage}
      status=${status}
      settings=${controller.stackSettings(status.name)}
      runs=${runs.slice(0, RUNS_PER_PAGE)}
      page=${n}
      more=${runs.length > RUNS_PER_PAGE}
      drift=${await controller.ledger.drift.list({ stack: status.name, status: "open" })}
      principal=${principalOf(req)}
    />`;
    return page(req, reply, status.name, content, { section: "stacks", notice: noticeOf(req) });
  });

  app.get<{ Params: { id: string } }>("/runs/:id", PAGE("read"), async (req, reply) => {
    const run = await findRun(req.params.id);
    return page(req, reply, `${run.kind} of ${run.stack}`, html`<${RunPage} run=${run} principal=${principalOf(req)} commitUrl=${commitUrl} />`, {
      section: "stacks",
      notice: noticeOf(req),
    });
  });

  app.get("/previews", PAGE("read"), async (req, reply) => {
    return page(req, reply, "PR previews", html`<${PreviewsPage} previews=${await controller.ledger.previews.list({ limit: 200 })} />`, { section: "previews" });
  });
  app.get<{ Params: { id: string } }>("/previews/:id", PAGE("read"), async (req, reply) => {
    const preview = await controller.ledger.previews.get(req.params.id);
    if (!preview) throw new StackdError(`no preview ${req.params.id}`, { kind: "not-found" });
    return page(req, reply, `PR #${preview.pr}`, html`<${PreviewPage} preview=${preview} />`, { section: "previews" });
  });

  // --- buttons ------------------------------------------------------------------
  // Each answers with the page to look at next; a notice there says what happened.
  const to = (reply: FastifyReply, where: string, notice: keyof typeof NOTICES) => reply.redirect(`${where}?notice=${notice}`, 303);
  app.post<{ Params: { project: string; stack: string } }>("/ui/stacks/:project/:stack/reconcile", ACTION("operate"), async (req, reply) => {
    const run = await controller.reconcileStack(`${req.params.project}/${req.params.stack}`, callerOf(req));
    return to(reply, `/runs/${run.id}`, "reconcile");
  });
  app.post<{ Params: { project: string; stack: string } }>("/ui/stacks/:project/:stack/drift", ACTION("operate"), async (req, reply) => {
    const name = `${req.params.project}/${req.params.stack}`;
    await controller.checkDrift(name, "api", callerOf(req));
    return to(reply, stackHref(name), "drift");
  });
  app.post<{ Params: { runId: string } }>("/ui/approvals/:runId", ACTION("admin"), async (req, reply) => {
    const up = await controller.approve(req.params.runId, callerOf(req));
    return to(reply, `/runs/${up.id}`, "approved");
  });
  app.post<{ Params: { runId: string } }>("/ui/approvals/:runId/reject", ACTION("admin"), async (req, reply) => {
    await controller.reject(req.params.runId, callerOf(req));
    return to(reply, `/runs/${req.params.runId}`, "rejected");
  });
  app.post<{ Params: { id: string } }>("/ui/runs/:id/cancel", ACTION("operate"), async (req, reply) => {
    await controller.cancel(req.params.id, callerOf(req));
    return to(reply, `/runs/${req.params.id}`, "cancelling");
  });

  // --- live feeds -----------------------------------------------------------------
  // A stack's row is sent again when one of its runs is queued, starts, ends or is
  // decided; a new head asks pages to reload what they show.
  const changed = new Set<string>();
  let flush: NodeJS.Timeout | undefined;
  const touch = (run: Run | undefined) => {
    if (!run || streams.size === 0) return;
    changed.add(run.stack);
    // Changes that come together (a commit queues many runs) go out together.
    flush ??= setTimeout(async () => {
      flush = undefined;
      const names = [...changed];
      changed.clear();
      const statuses = await controller.status().catch(() => []);
      for (const name of names) {
        const s = statuses.find((x) => x.name === name);
        const data = JSON.stringify({ name, html: s ? rowHtml(s) : "" });
        for (const stream of streams) stream.send("stack", data);
      }
    }, 150);
  };
  const onHead = () => {
    for (const stream of streams) stream.send("head", "{}");
  };
  const RUN_EVENTS = ["queued", "started", "finished", "updated"];
  for (const event of RUN_EVENTS) controller.events.on(event, touch);
  controller.events.on("head", onHead);

  app.get("/ui/events", ACTION("read"), async (req, reply) => {
    const stream = openEventStream(req, reply);
    streams.add(stream);
    stream.onClose(() => streams.delete(stream));
  });

  app.get<{ Params: { id: string } }>("/ui/runs/:id/log", ACTION("read"), async (req, reply) => {
    const run = await findRun(req.params.id);
    const stream = openEventStream(req, reply);
    streams.add(stream);
    if (run.status !== "queued" && run.status !== "running") {
      // Over already: the whole stored log (masked when it was stored).
      for (const line of run.log.split("\n")) stream.send("line", line);
      stream.send("end", run.status);
      stream.close();
      return;
    }
    const follow = logs.follow(run.id, {
      line: (text) => stream.send("line", text),
      end: () => {
        void controller.ledger.runs.get(run.id).then(
          (now) => stream.send("end", now?.status ?? ""),
          () => stream.send("end", ""),
        ).finally(() => stream.close());
      },
    });
    for (const line of follow.backlog) stream.send("line", line);
    // A queued run that is skipped or cancelled never starts: its end is noticed here.
    const check = setInterval(async () => {
      const now = (await controller.ledger.runs.get(run.id).catch(() => undefined))?.status;
      if (now !== "queued" && now !== "running") logs.forget(run.id);
    }, 5_000);
    stream.onClose(() => {
      clearInterval(check);
      follow.stop();
      streams.delete(stream);
    });
  });

  // Open streams would hold the server's close until the browsers go away.
  app.addHook("preClose", async () => {
    for (const stream of [...streams]) stream.close();
  });
  // The controller may outlive this server (tests build several on one).
  app.addHook("onClose", async () => {
    clearTimeout(flush);
    for (const event of RUN_EVENTS) controller.events.off(event, touch);
    controller.events.off("head", onHead);
    logs.detach();
  });
}

/** The notice a button left for the page it sent the browser to. */
function noticeOf(req: FastifyRequest): string | undefined {
  const n = (req.query as { notice?: unknown }).notice;
  return typeof n === "string" && Object.hasOwn(NOTICES, n) ? NOTICES[n as keyof typeof NOTICES] : undefined;
}
