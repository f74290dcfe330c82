import { defaultSettings, loadSettings } from "../catalog/index.ts";
import { openLedger } from "../ledger/index.ts";
import { collectGarbage, type GcReport } from "../reconciler/index.ts";
import { GitSource } from "../source/index.ts";
import { StackdError } from "../support/index.ts";
import { apiUrl, callService } from "./ledger-commands.ts";
import { requireFormat, writeOut } from "./output.ts";

function describe(r: GcReport): string {
  const mib = (r.bytesFreed / 1024 / 1024).toFixed(1);
  return `freed ${mib} MiB: ${r.worktrees} worktree(s), ${r.runs} run(s), ${r.logs} run log(s), ${r.driftEpisodes} drift episode(s), ${r.previews} preview(s), ${r.tempDirs} temp dir(s), ${r.plans} saved plan(s)\n`;
}

/**
 * `stackd gc`: removes what nothing needs (old worktrees, ledger rows past
 * retention, stale engine temp dirs). Asks the running service when there
 * is one; otherwise works on the data dir itself.
 */
export async function gcCommand(flags: { dataDir: string; repo: string; api?: string; format: string }): Promise<number> {
  const format = requireFormat(flags.format, ["text", "json"] as const);
  const api = apiUrl(flags);
  let report: GcReport;
  if (api) {
    const res = await callService<GcReport & { error?: string }>(api, "/api/gc", { method: "POST" });
    if (res.status !== 200) throw new StackdError(`garbage collection refused (${res.status}): ${res.body.error}`, { where: api.url });
    report = res.body;
  } else {
    const ledger = openLedger(flags.dataDir);
    try {
      const source = new GitSource(flags.repo, flags.dataDir);
      const head = await ledger.meta.get("head");
      const revision = head ? (JSON.parse(head) as { revision: string }).revision : null;
      // The retention the head's stackd.yaml sets.
      const checkout = revision ? await source.checkout(revision).catch(() => undefined) : undefined;
      const loaded = checkout ? loadSettings(checkout) : undefined;
      const settings = loaded?.ok ? loaded.settings : defaultSettings();
      report = await collectGarbage({ ledger, source, dataDir: flags.dataDir, head: revision, retention: settings.retention });
    } finally {
      ledger.close();
    }
  }
  writeOut(format === "json" ? `${JSON.stringify(report, null, 2)}\n` : describe(report));
  return 0;
}
