import fs from "node:fs";
import path from "node:path";
import { adminTokenFile } from "../access/index.ts";
import { openLedger, stackStatuses, type Ledger, type Run, type StackStatus } from "../ledger/index.ts";
import { databaseFlag } from "./database.ts";
import { StackdError } from "../support/index.ts";
import { requireFormat, writeOut } from "./output.ts";

interface ReadFlags {
  dataDir: string;
  database?: string;
  api?: string;
  format: string;
}

const checkFormat = (format: string) => requireFormat(format, ["text", "json"] as const);

/** A running service: its URL and the token to call it with. */
export interface ServiceEndpoint {
  url: string;
  token?: string;
}

/**
 * The running service: --api, else the URL `stackd serve` recorded in the
 * data dir; its token from STACKD_API_TOKEN, else the admin token serve
 * generated in the data dir.
 */
export function apiUrl(flags: { dataDir: string; api?: string }): ServiceEndpoint | undefined {
  const file = path.join(flags.dataDir, "serve.json");
  const url = flags.api ? flags.api.replace(/\/$/, "") : fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as { url: string }).url : undefined;
  if (!url) return undefined;
  const adminToken = adminTokenFile(flags.dataDir);
  const token = process.env.STACKD_API_TOKEN || (fs.existsSync(adminToken) ? fs.readFileSync(adminToken, "utf8").trim() : undefined);
  return { url, token };
}

/** A call to the running service's API with its token. */
export async function callService<T>(api: ServiceEndpoint, route: string, init?: RequestInit): Promise<{ status: number; body: T }> {
  let res: Response;
  try {
    res = await fetch(`${api.url}${route}`, { ...init, headers: { ...(init?.headers as Record<string, string> | undefined), ...(api.token ? { authorization: `Bearer ${api.token}` } : {}) } });
  } catch (err) {
    throw new StackdError(`cannot reach the stackd service: ${(err as Error).message}`, { where: api.url });
  }
  const body = (await res.json()) as T;
  if (res.status === 401 || res.status === 403) {
    const reason = (body as { error?: string }).error;
    throw new StackdError(`${reason}; set STACKD_API_TOKEN to a token with the role this needs`, { kind: "auth", where: api.url });
  }
  return { status: res.status, body };
}

async function withLedger<T>(flags: { dataDir: string; database?: string }, fn: (l: Ledger) => Promise<T>): Promise<T> {
  const database = databaseFlag(flags);
  if (!database && !fs.existsSync(path.join(flags.dataDir, "ledger.db"))) {
    throw new StackdError(`no ledger in ${flags.dataDir}: has \`stackd serve\` run with this data dir?`, { kind: "config" });
  }
  const ledger = openLedger(flags.dataDir, database);
  try {
    return await fn(ledger);
  } finally {
    await ledger.close();
  }
}

/** A stack's name in an API route: project/stack maps onto the route's two segments. */
const stackPath = (stack: string) => stack.split("/").map(encodeURIComponent).join("/");
const short = (rev: string | null) => (rev ? rev.slice(0, 12) : "-");

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()).join("\n");
}

/** `stackd status`: every stack's sync state and conditions. */
export async function statusCommand(flags: ReadFlags): Promise<number> {
  checkFormat(flags.format);
  const api = flags.api ? apiUrl(flags) : undefined;
  let stacks: StackStatus[];
  if (api) stacks = (await callService<{ stacks: StackStatus[] }>(api, "/api/stacks")).body.stacks;
  else {
    stacks = await withLedger(flags, async (l) => {
      const head = await l.meta.get("head");
      const revision = head ? (JSON.parse(head) as { revision: string }).revision : null;
      return stackStatuses(l, revision);
    });
  }
  if (flags.format === "json") {
    writeOut(`${JSON.stringify({ stacks }, null, 2)}\n`);
    return 0;
  }
  const rows = [["STACK", "SYNC", "HEALTH", "APPLIED", "HEAD", "MODE", "CONDITIONS", "LAST RUN"]];
  for (const s of stacks) {
    const last = s.lastRun ? `${s.lastRun.id} ${s.lastRun.kind} ${s.lastRun.status}` : "-";
    rows.push([s.name, s.sync, s.health, short(s.appliedRevision), short(s.headRevision), s.applyMode, s.conditions.join(",") || "-", last]);
  }
  writeOut(`${table(rows)}\n`);
  return 0;
}

/** `stackd runs`: the newest runs, optionally of one stack. */
export async function runsCommand(flags: ReadFlags & { stack?: string; limit: string }): Promise<number> {
  checkFormat(flags.format);
  const limit = Number(flags.limit) || 20;
  const api = flags.api ? apiUrl(flags) : undefined;
  const runs: Run[] = api
    ? (await callService<{ runs: Run[] }>(api, `/api/runs?limit=${limit}${flags.stack ? `&stack=${encodeURIComponent(flags.stack)}` : ""}`)).body.runs
    : await withLedger(flags, (l) => l.runs.list({ stack: flags.stack, limit }));
  if (flags.format === "json") {
    writeOut(`${JSON.stringify({ runs }, null, 2)}\n`);
    return 0;
  }
  const rows = [["RUN", "STACK", "REVISION", "KIND", "TRIGGER", "STATUS", "CHANGES", "CREATED"]];
  for (const r of runs) {
    const c = r.changes;
    const changes = c ? `+${c.create} ~${c.update} ±${c.replace} -${c.delete}` : "-";
    rows.push([r.id, r.stack, short(r.revision), r.kind, r.trigger, r.status, changes, r.createdAt]);
  }
  writeOut(`${table(rows)}\n`);
  for (const r of runs) {
    for (const v of r.policy ?? []) writeOut(`${r.id}: policy ${v.enforcement}: ${v.pack}/${v.policy}: ${v.message}\n`);
    if (r.error) writeOut(`${r.id}: ${r.error}\n`);
  }
  return 0;
}

/**
 * Asks the running service to act: POSTs to `route`, prints what `said`
 * makes of an `ok` answer, else the refusal. Exit 0 done, 1 refused (a
 * conflict with the state), 2 otherwise.
 */
async function ask<T extends { error?: string }>(
  flags: { dataDir: string; api?: string },
  route: string,
  o: { ok: number; what: string; body?: unknown },
  said: (body: T) => string,
): Promise<number> {
  const api = apiUrl(flags);
  if (!api) throw new StackdError("no running stackd service found: pass --api <url> or run `stackd serve` with this data dir", { kind: "config" });
  const init: RequestInit = o.body === undefined ? { method: "POST" } : { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(o.body) };
  const res = await callService<T>(api, route, init);
  if (res.status === o.ok) {
    writeOut(`${said(res.body)}\n`);
    return 0;
  }
  process.stderr.write(`stackd: ${o.what} refused (${res.status}): ${res.body.error}\n`);
  return res.status === 409 ? 1 : 2;
}

type RunAnswer = { id?: string; revision?: string; kind?: string; status?: string; approvedPlan?: string | null; error?: string };

/** `stackd approve RUN_ID`: applies a stored preview through the running service. */
export const approveCommand = (runId: string, flags: { dataDir: string; api?: string }) =>
  ask<RunAnswer>(flags, `/api/approvals/${encodeURIComponent(runId)}`, { ok: 202, what: "approval" }, (b) => {
    const plan = b.approvedPlan ? ` (plan sha256:${b.approvedPlan})` : "";
    return `approved ${runId}${plan}: applying exactly that plan as ${b.id}`;
  });

/** `stackd reject RUN_ID`: refuses a stored preview's plan through the running service. */
export const rejectCommand = (runId: string, flags: { dataDir: string; api?: string }) =>
  ask<RunAnswer>(flags, `/api/approvals/${encodeURIComponent(runId)}/reject`, { ok: 200, what: "rejection" }, () => `rejected ${runId}: its plan will not be applied`);

/** `stackd rollback STACK --to REV`: applies the stack at an earlier applied revision and pins it, through the service. */
export const rollbackCommand = (stack: string, flags: { dataDir: string; api?: string; to: string }) =>
  ask<RunAnswer>(flags, `/api/stacks/${stackPath(stack)}/rollback`, { ok: 202, what: "rollback", body: { to: flags.to } }, (b) => {
    const what = b.kind === "preview" ? "previewing (a manual stack: approve the preview to apply it)" : "applying";
    return `rolling ${stack} back to ${short(b.revision ?? flags.to)} as ${b.id}: ${what}; pinned until \`stackd unpin ${stack}\` or a new commit that affects it`;
  });

/** `stackd unpin STACK`: the stack follows the branch again, reconciled at the head. */
export const unpinCommand = (stack: string, flags: { dataDir: string; api?: string }) =>
  ask<RunAnswer>(flags, `/api/stacks/${stackPath(stack)}/unpin`, { ok: 202, what: "unpin" }, (b) => `unpinned ${stack}: it follows the branch again; reconciling at ${short(b.revision ?? "")} as ${b.id}`);

/** `stackd cancel RUN_ID`: stops a queued or running run through the service. */
export const cancelCommand = (runId: string, flags: { dataDir: string; api?: string }) =>
  ask<RunAnswer>(flags, `/api/runs/${encodeURIComponent(runId)}/cancel`, { ok: 202, what: "cancel" }, (b) =>
    b.status === "cancelled" ? `cancelled ${runId} before it started` : `cancelling ${runId}: its engine is being interrupted`,
  );
