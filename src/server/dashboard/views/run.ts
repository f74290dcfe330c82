import { html } from "htm/preact";
import type { VNode } from "preact";
import { roleAllows, type Principal } from "../../../access/index.ts";
import type { RunWithLog } from "../../../ledger/index.ts";
import { Age, Facts, PlanTable, PolicyTable, Revision, Status } from "./parts.ts";
import { duration } from "./stack.ts";
import { stackHref } from "./stacks.ts";

const LIVE = new Set(["queued", "running"]);

/** A commit's page, when the repository is on GitHub (https or ssh form); the URL's credentials never matter. */
export function commitLinks(repo: string): (sha: string) => string | undefined {
  const m = /github\.com[/:]([\w.-]+)\/([\w.-]+?)(?:\.git)?\/?$/.exec(repo);
  return (sha) => (m ? `https://github.com/${m[1]}/${m[2]}/commit/${sha}` : undefined);
}

/** One run: what started it, what it planned or changed, what the packs said, and its log (live while it runs). */
export function RunPage({ run, principal, commitUrl }: { run: RunWithLog; principal: Principal; commitUrl: (sha: string) => string | undefined }): VNode {
  const live = LIVE.has(run.status);
  const awaiting = run.status === "awaiting_approval";
  const caption = run.kind === "refresh" ? "Drift: declared → actual" : run.kind === "preview" ? "Plan" : "Changes";
  return html`<section data-live-stack=${run.stack}>
    <nav class="crumbs small" aria-label="Breadcrumb"><a href="/">Stacks</a> / <a href=${stackHref(run.stack)}>${run.stack}</a></nav>
    <div id="run-summary" data-refresh="">
      <div class="heading">
        <h1>${run.kind} <${Status} word=${run.status} /></h1>
        ${live && roleAllows(principal.role, "operate")
          ? html`<form method="post" action=${`/ui/runs/${run.id}/cancel`}><button type="submit" class="secondary">Cancel run</button></form>`
          : null}
      </div>
      ${awaiting
        ? html`<div class="approval" role="region" aria-label="Approval">
            <p>This preview waits for approval. Approving applies exactly this plan${run.planDigest ? html`: <code class="digest">sha256:${run.planDigest}</code>` : null}.</p>
            ${roleAllows(principal.role, "admin")
              ? html`<div class="actions">
                  <form method="post" action=${`/ui/approvals/${run.id}`}><button type="submit">Approve</button></form>
                  <form method="post" action=${`/ui/approvals/${run.id}/reject`}><button type="submit" class="danger">Reject</button></form>
                </div>`
              : html`<p class="muted small">Approving needs the admin role.</p>`}
          </div>`
        : null}
      ${run.error ? html`<p class="notice bad" role="alert">${run.error}</p>` : null}
      <${Facts}
        items=${[
          ["Stack", html`<a href=${stackHref(run.stack)}>${run.stack}</a>`],
          ["Trigger", `${run.trigger}${run.requestedBy ? ` by ${run.requestedBy}` : ""}`],
          ["Revision", html`<${Revision} sha=${run.revision} commitUrl=${commitUrl} />`],
          ["Queued", html`<${Age} at=${run.createdAt} />`],
          ["Started", html`<${Age} at=${run.startedAt} />`],
          ["Finished", html`<${Age} at=${run.finishedAt} />`],
          ["Took", duration(run) || html`<span class="muted">—</span>`],
          ...(run.approvalOf ? [["Applies the plan of", html`<a href=${`/runs/${run.approvalOf}`}>${run.approvalOf}</a>`] as [string, unknown]] : []),
          ...(run.approvedBy ? [["Approved by", run.approvedBy] as [string, unknown]] : []),
          ...(run.runtime ? [["Runtime", run.runtime] as [string, unknown]] : []),
        ]}
      />
      ${run.changes
        ? html`<p class="small">Changes: ${run.changes.create} to create, ${run.changes.update} to update, ${run.changes.replace} to replace, ${run.changes.delete} to delete, ${run.changes.same} unchanged.</p>`
        : null}
      <${PlanTable} resources=${run.resources ?? []} caption=${caption} />
      <${PolicyTable} violations=${run.policy ?? []} />
    </div>
    <h2 id="log-heading">Engine log</h2>
    <pre class="log" id="run-log" tabindex="0" aria-labelledby="log-heading" aria-live=${live ? "polite" : undefined} data-log-src=${live ? `/ui/runs/${run.id}/log` : undefined}>${live ? "" : run.log || "(no output)"}</pre>
  </section>`;
}
