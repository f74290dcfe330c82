import { html } from "htm/preact";
import type { VNode } from "preact";
import type { PreviewRecord } from "../../../ledger/index.ts";
import { Age, PlanTable, PolicyTable, Revision, Status } from "./parts.ts";

/** Pull request previews, newest first, grouped by pull request. */
export function PreviewsPage({ previews }: { previews: PreviewRecord[] }): VNode {
  const prs = [...new Set(previews.map((p) => p.pr))];
  return html`<section>
    <h1>Pull request previews</h1>
    ${prs.length === 0 ? html`<p class="muted">No pull request was previewed yet.</p>` : null}
    ${prs.map(
      (pr) => html`<section class="pr">
        <h2>Pull request #${pr}</h2>
        <ul class="previews">
          ${previews
            .filter((p) => p.pr === pr)
            .map(
              (p) => html`<li>
                <a href=${`/previews/${p.id}`}>head <${Revision} sha=${p.head} /></a> <${Status} word=${p.status} />
                <span class="small muted"><${Age} at=${p.createdAt} /></span>
                ${p.report ? html`<span class="small"> · ${p.report.stacks.map((s) => `${s.project}/${s.stack}: ${s.status}`).join(", ")}</span>` : null}
              </li>`,
            )}
        </ul>
      </section>`,
    )}
  </section>`;
}

/** One pull request preview with its report: each stack's plan and policy results. */
export function PreviewPage({ preview: p }: { preview: PreviewRecord }): VNode {
  return html`<section>
    <nav class="crumbs small" aria-label="Breadcrumb"><a href="/previews">PR previews</a> / #${p.pr}</nav>
    <h1>Pull request #${p.pr} <${Status} word=${p.status} /></h1>
    <p class="small">head <${Revision} sha=${p.head} /> onto <${Revision} sha=${p.base} /> · <${Age} at=${p.createdAt} /></p>
    ${p.error ? html`<p class="notice bad" role="alert">${p.error}</p>` : null}
    ${(p.report?.stacks ?? []).map(
      (s) => html`<section class="preview-stack">
        <h2>${s.project}/${s.stack} <${Status} word=${s.status} /></h2>
        ${s.error ? html`<p class="notice bad">${s.error}</p>` : null}
        <${PlanTable} resources=${s.resources} caption="Plan" />
        <${PolicyTable} violations=${s.policy} />
      </section>`,
    )}
  </section>`;
}
