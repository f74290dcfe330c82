import { html } from "htm/preact";
import type { VNode } from "preact";
import { render } from "preact-render-to-string";
import type { StackStatus } from "../../../ledger/index.ts";
import { Age, Revision, Status } from "./parts.ts";

/** The conditions a stack can be filtered by, beside its sync and health. */
export const FILTERS = ["Reconciling", "Ready", "Failing", "Stalled", "AwaitingApproval", "Pinned", "Orphaned", "OutOfSync", "Drifted"] as const;

/** Whether a stack matches the list's filter (the page's script applies the same rule live). */
export function matches(s: StackStatus, filter: { q?: string; condition?: string }): boolean {
  if (filter.q && !s.name.toLowerCase().includes(filter.q.toLowerCase())) return false;
  if (filter.condition && !wordsOf(s).includes(filter.condition)) return false;
  return true;
}

/** The words counted above the list (the page's script recounts them as rows change). */
const SUMMARY = ["Synced", "OutOfSync", "Drifted"] as const;

/** Every word a stack's row can be filtered by. */
const wordsOf = (s: StackStatus): string[] => [...s.conditions, s.sync, s.health];

/** A stack page's address. */
export const stackHref = (name: string): string => `/stacks/${name.split("/").map(encodeURIComponent).join("/")}`;

/** One stack's row; the live feed sends the same row again when it changes. */
export function StackRow({ s, hidden }: { s: StackStatus; hidden?: boolean }): VNode {
  const run = s.lastRun;
  return html`<tr id=${`stack-${s.name}`} data-stack=${s.name} data-words=${wordsOf(s).join(" ")} hidden=${hidden}>
    <th scope="row"><a href=${stackHref(s.name)}>${s.name}</a></th>
    <td>
      <${Status} word=${s.sync} />
      <div class="small muted">
        applied <${Revision} sha=${s.appliedRevision} />${s.sync === "OutOfSync" ? html`, head <${Revision} sha=${s.headRevision} />` : null}
      </div>
    </td>
    <td><${Status} word=${s.health} /></td>
    <td class="conditions">
      ${s.conditions.map((c) => html`<${Status} word=${c} /> `)}
      ${s.message ? html`<div class="small reason">${s.message}</div>` : null}
    </td>
    <td>${s.applyMode}</td>
    <td>${run ? html`<a href=${`/runs/${run.id}`}>${run.kind}</a> <${Status} word=${run.status} />` : html`<span class="muted">none</span>`}</td>
    <td>${run ? html`<${Age} at=${run.finishedAt ?? run.startedAt ?? run.createdAt} />` : null}</td>
  </tr>`;
}

/** A row as HTML, for the live feed. */
export const rowHtml = (s: StackStatus): string => render(html`<${StackRow} s=${s} />`);

/** The stacks list: sync, health, conditions and last run of each, filterable, updated live. */
export function StacksPage({ stacks, filter, info }: { stacks: StackStatus[]; filter: { q?: string; condition?: string }; info: { repo: string; branch: string | null; head: string | null; syncError: string | null; settingsError: string | null } }): VNode {
  // Every row is sent, the filtered-out ones hidden: the filter then works live, without a reload.
  const shown = stacks.filter((s) => matches(s, filter));
  const count = (word: string) => stacks.filter((s) => wordsOf(s).includes(word)).length;
  return html`<section>
    <div class="heading">
      <h1>Stacks</h1>
      <p class="live small" id="live" role="status" aria-live="polite">${""}</p>
    </div>
    <p class="small muted">
      ${info.repo}${info.branch ? html`${" · "}<code>${info.branch}</code>` : null}${" · head "}<${Revision} sha=${info.head} />
      ${" · "}${stacks.length} stacks:${" "}
      ${SUMMARY.map((word, i) => html`${i ? ", " : ""}<span data-count=${word}>${count(word)}</span> ${word}`)}
    </p>
    ${info.syncError ? html`<p class="notice bad" role="alert">Cannot sync the repository: ${info.syncError}</p>` : null}
    ${info.settingsError ? html`<p class="notice bad" role="alert">stackd.yaml: ${info.settingsError}</p>` : null}
    <form class="filters" method="get" action="/" role="search">
      <label for="filter-q">Filter</label>
      <input id="filter-q" name="q" type="search" value=${filter.q ?? ""} placeholder="project/stack" />
      <label for="filter-condition">Condition</label>
      <select id="filter-condition" name="condition">
        <option value="">any</option>
        ${FILTERS.map((c) => html`<option value=${c} selected=${filter.condition === c}>${c}</option>`)}
      </select>
      <noscript><button type="submit">Apply</button></noscript>
    </form>
    <div class="scroll">
      <table class="stacks" aria-describedby="shown">
        <thead>
          <tr>
            <th scope="col">Stack</th><th scope="col">Sync</th><th scope="col">Health</th><th scope="col">Conditions</th>
            <th scope="col">Mode</th><th scope="col">Last run</th><th scope="col">When</th>
          </tr>
        </thead>
        <tbody id="stack-rows">
          ${stacks.map((s) => html`<${StackRow} s=${s} hidden=${!matches(s, filter)} />`)}
        </tbody>
      </table>
    </div>
    <p id="shown" class="small muted">${shown.length} of ${stacks.length} shown</p>
  </section>`;
}
