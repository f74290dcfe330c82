import type { Ledger, PreviewRecord } from "../ledger/index.ts";
import { GitHubReporter, publishPreview, renderMarkdown, type GitHubSettings } from "../previews/index.ts";
import type { StackReport } from "../report/index.ts";
import type { GitSource } from "../source/index.ts";
import { messageOf } from "../support/index.ts";
import type { Logger } from "./logger.ts";
import { planPreview, type PreviewPlan } from "./preview-plan.ts";
import type { Job } from "./queue.ts";
import { inRunCheckout, runStack, type RunContext } from "./stack-run.ts";

/** A pull request as its webhook describes it. */
export interface PullRequest {
  repo: string;
  number: number;
  headSha: string;
  baseRef: string;
  fork: boolean;
}

/** What pull request previews need from the service. */
export interface PullRequestDeps {
  ledger: Ledger;
  source: GitSource;
  /** The service's work queue: each stack's preview runs as a job of that stack. */
  queue: (job: Job) => void;
  log: Logger;
  forksAllowed: () => boolean;
  github?: GitHubSettings;
  context: (plan: PreviewPlan, progress: (line: string) => void) => RunContext;
}

/**
 * Pull request previews in the service: every stack the head's diff from the
 * merge base affects, each stack's preview queued like any run of that stack
 * (so it holds the stack only while it runs), stored, and reported to GitHub.
 * A newer push to the same pull request supersedes a preview still under way;
 * a superseded preview's results are discarded.
 */
export class PullRequestPreviews {
  private readonly deps: PullRequestDeps;

  constructor(deps: PullRequestDeps) {
    this.deps = deps;
  }

  async preview(pr: PullRequest): Promise<PreviewRecord> {
    const { ledger, log } = this.deps;
    const rec = { repo: pr.repo, pr: pr.number, head: pr.headSha, base: pr.baseRef };
    if (pr.fork && !this.deps.forksAllowed()) {
      return await ledger.previews.create({ ...rec, status: "ignored", error: "pull request from a fork: previews of forks are off (stackd.yaml previews.forks)" });
    }
    for (const old of await ledger.previews.list({ repo: pr.repo, pr: pr.number, limit: 20 })) {
      if (old.status === "queued" || old.status === "running") {
        await ledger.previews.update(old.id, { status: "superseded", error: `superseded by a newer push (${pr.headSha.slice(0, 12)})` });
      }
    }
    const preview = await ledger.previews.create(rec);
    void this.run(preview.id, pr).catch(async (err) => {
      if ((await ledger.previews.get(preview.id))?.status === "superseded") return;
      await ledger.previews.update(preview.id, { status: "failed", error: messageOf(err) });
      log.error({ preview: preview.id, err: messageOf(err) }, "preview failed");
    });
    return preview;
  }

  private async superseded(id: string): Promise<boolean> {
    return (await this.deps.ledger.previews.get(id))?.status === "superseded";
  }

  private async run(id: string, pr: PullRequest): Promise<void> {
    const { ledger, log } = this.deps;
    await this.deps.source.fetch();
    const plan = await planPreview(this.deps.source, pr.headSha, pr.baseRef);
    if ((await ledger.previews.get(id))?.status !== "queued") return;
    await ledger.previews.update(id, { status: "running" });
    const ctx = this.deps.context(plan, (line) => log.info({ preview: id, pr: pr.number }, line));
    const stacks = await Promise.all(
      plan.entries.map(
        (entry) =>
          new Promise<StackReport | undefined>((resolve) => {
            const stack = `${entry.project}/${entry.stack}`;
            this.deps.queue({
              stack,
              key: `${stack}#pr-${pr.repo}-${pr.number}`,
              dependsOn: [],
              superseded: () => resolve(undefined),
              run: async () => {
                if (await this.superseded(id)) return resolve(undefined);
                const { log: _log, ...report } = await inRunCheckout(this.deps.source, ctx, (run) =>
                  runStack(entry, run, "preview", { scratchBackendForNewStacks: true, purpose: "pull-request", reportPlan: true }),
                );
                resolve(report);
              },
            });
          }),
      ),
    );
    if ((await this.superseded(id)) || stacks.some((s) => s === undefined)) {
      log.info({ preview: id, pr: pr.number }, "preview superseded: results discarded");
      await ledger.previews.update(id, { status: "superseded" });
      return;
    }
    const report = { revision: plan.head, base: plan.mergeBase, stacks: stacks as StackReport[] };
    const markdown = renderMarkdown(report, { baseLabel: pr.baseRef, link: `/api/previews/${id}` });
    await ledger.previews.update(id, { status: "completed", report, markdown });
    log.info({ preview: id, pr: pr.number, stacks: report.stacks.length }, "preview completed");
    if (!this.deps.github) return;
    const [owner, repo] = pr.repo.split("/") as [string, string];
    const known = (await ledger.previews.list({ repo: pr.repo, pr: pr.number, limit: 50 })).find((p) => p.commentId !== null)?.commentId ?? undefined;
    try {
      const ids = await publishPreview(new GitHubReporter(this.deps.github), { owner, repo, number: pr.number, headSha: pr.headSha }, report, markdown, known);
      await ledger.previews.update(id, ids);
    } catch (err) {
      await ledger.previews.update(id, { error: `reporting to GitHub failed: ${messageOf(err)}` });
      log.error({ preview: id, err: messageOf(err) }, "reporting to GitHub failed");
    }
  }
}
