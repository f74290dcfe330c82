import { Octokit } from "@octokit/rest";
import type { Report } from "../report/index.ts";
import { COMMENT_MARKER } from "./markdown.ts";

/** Credentials and API URL (GitHub or Enterprise) for reporting previews. */
export interface GitHubSettings {
  token: string;
  /** https://api.github.com, or a GitHub Enterprise server's https://host/api/v3. */
  baseUrl: string;
}

/** The pull request a preview reports on. */
export interface PullRequestRef {
  owner: string;
  repo: string;
  number: number;
  headSha: string;
}

/**
 * The one wrapper around GitHub: a check run on the head commit, and one
 * comment per pull request that is edited in place on every push.
 */
export class GitHubReporter {
  private readonly octokit: Octokit;

  constructor(settings: GitHubSettings) {
    this.octokit = new Octokit({ auth: settings.token, baseUrl: settings.baseUrl, userAgent: "stackd", request: { retries: 0 } });
  }

  async checkRun(pr: PullRequestRef, result: { conclusion: "success" | "neutral" | "failure"; title: string; summary: string }): Promise<number> {
    const res = await this.octokit.rest.checks.create({
      owner: pr.owner,
      repo: pr.repo,
      name: "stackd preview",
      head_sha: pr.headSha,
      status: "completed",
      conclusion: result.conclusion,
      output: { title: result.title, summary: result.summary },
    });
    return res.data.id;
  }

  /** Edits stackd's comment on the pull request (known id, else found by its marker), or creates it. */
  async upsertComment(pr: PullRequestRef, body: string, knownId?: number): Promise<number> {
    let id = knownId;
    if (id === undefined) {
      const comments = await this.octokit.paginate(this.octokit.rest.issues.listComments, {
        owner: pr.owner,
        repo: pr.repo,
        issue_number: pr.number,
        per_page: 100,
      });
      id = comments.find((c) => c.body?.includes(COMMENT_MARKER))?.id;
    }
    if (id !== undefined) {
      await this.octokit.rest.issues.updateComment({ owner: pr.owner, repo: pr.repo, comment_id: id, body });
      return id;
    }
    const created = await this.octokit.rest.issues.createComment({ owner: pr.owner, repo: pr.repo, issue_number: pr.number, body });
    return created.data.id;
  }
}

/**
 * A preview on GitHub: a check run on the head commit (success: no changes,
 * neutral: changes, failure: an error or a blocking policy violation) and the
 * pull request's one stackd comment, edited in place.
 */
export async function publishPreview(
  github: GitHubReporter,
  pr: PullRequestRef,
  report: Pick<Report, "stacks">,
  markdown: string,
  knownCommentId?: number,
): Promise<{ checkRunId: number; commentId: number }> {
  const failed = report.stacks.some((s) => s.status === "failed" || s.status === "blocked");
  const changes = report.stacks.filter((s) => s.status === "previewed").length;
  const checkRunId = await github.checkRun(pr, {
    conclusion: failed ? "failure" : changes > 0 ? "neutral" : "success",
    title: failed ? "Preview failed or blocked by policy" : changes > 0 ? `${changes} stack(s) change` : "No infrastructure changes",
    summary: markdown,
  });
  const commentId = await github.upsertComment(pr, markdown, knownCommentId);
  return { checkRunId, commentId };
}
