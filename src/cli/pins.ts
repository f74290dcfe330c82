import type { Run } from "../ledger/index.ts";
import { StackdError } from "../support/index.ts";
import { apiUrl, callService } from "./ledger-commands.ts";
import { writeOut } from "./output.ts";

const route = (stack: string) => `/api/stacks/${stack.split("/").map(encodeURIComponent).join("/")}`;

async function post(flags: { dataDir: string; api?: string }, path: string, body?: unknown): Promise<Run> {
  const api = apiUrl(flags);
  if (!api) throw new StackdError("no running stackd service found: pass --api <url> or run `stackd serve` with this data dir", { kind: "config" });
  const init: RequestInit = body === undefined ? { method: "POST" } : { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } };
  const res = await callService<Run & { error?: string }>(api, path, init);
  if (res.status !== 202) throw new StackdError(res.body.error ?? `the service answered ${res.status}`, { where: api.url });
  return res.body;
}

/** `stackd rollback STACK --to REV`: applies the stack at an earlier applied revision and pins it there. */
export async function rollbackCommand(stack: string, flags: { dataDir: string; api?: string; to: string }): Promise<number> {
  const run = await post(flags, `${route(stack)}/rollback`, { to: flags.to });
  writeOut(`${run.stack}: rolling back to ${run.revision.slice(0, 12)} (run ${run.id}); pinned until \`stackd unpin ${run.stack}\` or a commit that affects it\n`);
  return 0;
}

/** `stackd unpin STACK`: the stack follows the branch again, reconciled at its head now. */
export async function unpinCommand(stack: string, flags: { dataDir: string; api?: string }): Promise<number> {
  const run = await post(flags, `${route(stack)}/unpin`);
  writeOut(`${run.stack}: unpinned; reconciling at ${run.revision.slice(0, 12)} (run ${run.id})\n`);
  return 0;
}
