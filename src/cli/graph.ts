import { graphDot, graphText, type GraphView } from "../graph/index.ts";
import { StackdError } from "../support/index.ts";
import { apiUrl, callService } from "./ledger-commands.ts";
import { requireFormat, writeOut } from "./output.ts";

/**
 * `stackd graph`: the stack graph the running service holds (it alone knows
 * the head's stackd.yaml), as text, Graphviz dot or JSON.
 */
export async function graphCommand(flags: { dataDir: string; api?: string; format: string }): Promise<number> {
  const format = requireFormat(flags.format, ["text", "dot", "json"] as const);
  const api = apiUrl(flags);
  if (!api) throw new StackdError("no running stackd service found: pass --api <url> or run `stackd serve` with this data dir", { kind: "config" });
  const { status, body } = await callService<GraphView & { error?: string }>(api, "/api/graph");
  if (status !== 200) throw new StackdError(body.error ?? `the service answered ${status}`, { where: api.url });
  writeOut(format === "json" ? `${JSON.stringify(body, null, 2)}\n` : format === "dot" ? graphDot(body) : graphText(body));
  return body.cycles.length > 0 ? 1 : 0;
}
