import { html } from "htm/preact";
import type { VNode } from "preact";
import { roleAllows, type Principal } from "../../../access/index.ts";
import type { PolicyPackSetting, StackSettings } from "../../../catalog/index.ts";
import type { DriftRecord, Run, StackStatus } from "../../../ledger/index.ts";
import { Age, Facts, PlanTable, Revision, Status } from "./parts.ts";
import { stackHref } from "./stacks.ts";

/** A role's name from its ARN: the account and path stay off the page. */
export const roleName = (arn: string | undefined): string | undefined => arn?.slice(arn.lastIndexOf("/") + 1) || undefined;

const packName = (p: PolicyPackSetting): string => (typeof p === "string" ? p : p.path);

/** How long a run took, or how long it has been running. */
export function duration(run: Run, now = Date.now()): string {
  if (!run.startedAt) return "";
  const ms = (run.finishedAt ? Date.parse(run.finishedAt) : now) - Date.parse(run.startedAt);
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** A list of runs, newest first. */
export function RunsTable({ runs, caption }: { runs: Run[]; caption: string }): VNode {
  if (runs.length === 0) return html`<p class="muted">No runs yet.</p>`;
  return html`<div class="scroll"><table>
    <caption>${caption}</caption>
    <thead><tr><th scope="col">Run</th><th scope="col">Status</th><th scope="col">Trigger</th><th scope="col">Revision</th><th scope="col">Changes</th><th scope="col">Started</th><th scope="col">Took</th></tr></thead>
    <tbody>
      ${runs.map(
        (r) => html`<tr>
          <td><a href=${`/runs/${r.id}`}>${r.kind}</a></td>
          <td><${Status} word=${r.status} /></td>
          <td>${r.trigger}${r.requestedBy ? html` <span class="muted small">by ${r.requestedBy}</span>` : null}</td>
          <td><${Revision} sha=${r.revision} /></td>
          <td class="small">${r.changes ? `+${r.changes.create} ~${r.changes.update} ±${r.changes.replace} -${r.changes.delete}` : ""}</td>
          <td><${Age} at=${r.startedAt ?? r.createdAt} /></td>
          <td class="small">${duration(r)}</td>
        </tr>`,
      )}
    </tbody>
  </table></div>`;
}

/** One stack: status, what it is set to do, open drift, its runs, and what may be started from here. */
export function StackPage(p: {
  status: StackStatus;
  settings: StackSettings | null;
  runs: Run[];
  page: number;
  more: boolean;
  drift: DriftRecord[];
  principal: Principal;
}): VNode {
  const { status: s, settings } = p;
  const act = (what: string, label: string) =>
    html`<form method="post" action=${`/ui${stackHref(s.name)}/${what}`}><button type="submit">${label}</button></form>`;
  return html`<section data-live-stack=${s.name}>
    <nav class="crumbs small" aria-label="Breadcrumb"><a href="/">Stacks</a> / ${s.project}</nav>
    <div class="heading">
      <h1>${s.name}</h1>
      ${roleAllows(p.principal.role, "operate") ? html`<div class="actions">${act("reconcile", "Reconcile now")}${act("drift", "Check drift now")}</div>` : null}
    </div>
    <div id="stack-status" data-refresh="">
      <${Facts}
        items=${[
          ["Sync", html`<${Status} word=${s.sync} />`],
          ["Health", html`<${Status} word=${s.health} />`],
          ["Conditions", s.conditions.length ? s.conditions.map((c) => html`<${Status} word=${c} /> `) : html`<span class="muted">none</span>`],
          ["Applied", html`<${Revision} sha=${s.appliedRevision} />`],
          ["Head", html`<${Revision} sha=${s.headRevision} />`],
          ["Last drift check", html`<${Age} at=${s.lastDriftCheck} />`],
        ]}
      />
      ${s.message ? html`<p class=${s.failures > 0 ? "notice bad" : "notice"} role=${s.failures > 0 ? "alert" : "status"}>${s.message}</p>` : null}
      <h2>Drift</h2>
      ${p.drift.length === 0
        ? html`<p class="muted">No open drift episode.</p>`
        : p.drift.map(
            (d) => html`<div class="drift">
              <p>Drifted since <${Age} at=${d.firstSeen} />, seen ${d.timesSeen} time(s), against <${Revision} sha=${d.revision} /> (<a href=${`/runs/${d.runId}`}>last check</a>).</p>
              <${PlanTable} resources=${d.resources} caption="Declared → actual" />
            </div>`,
          )}
      <h2>Runs</h2>
      <${RunsTable} runs=${p.runs} caption=${`Runs, newest first (page ${p.page})`} />
      <nav class="pager small" aria-label="Runs pages">
        ${p.page > 1 ? html`<a href=${`${stackHref(s.name)}?page=${p.page - 1}`}>Newer</a>` : null}
        ${p.more ? html`<a href=${`${stackHref(s.name)}?page=${p.page + 1}`}>Older</a>` : null}
      </nav>
    </div>
    <h2>Settings in force</h2>
    ${settings
      ? html`<${Facts}
          items=${[
            ["Apply", settings.apply],
            ["Drift schedule", settings.drift],
            ["Remediate", settings.remediate],
            ["Role", roleName(settings.roles.roleArn) ?? html`<span class="muted">stackd's own credentials</span>`],
            ["Preview role", roleName(settings.roles.previewRoleArn) ?? html`<span class="muted">as apply</span>`],
            ["Policy packs", settings.policyPacks.length ? settings.policyPacks.map(packName).join(", ") : html`<span class="muted">none</span>`],
            ["Depends on", settings.dependsOn.length ? settings.dependsOn.join(", ") : html`<span class="muted">nothing</span>`],
          ]}
        />`
      : html`<p class="muted">The branch head no longer declares this stack.</p>`}
  </section>`;
}
