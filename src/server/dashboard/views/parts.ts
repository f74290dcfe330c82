import { html } from "htm/preact";
import type { VNode } from "preact";
import type { PolicyViolation, ResourceChange } from "../../../report/index.ts";

/** A short label with a colour that says how things stand (ok, warn, bad, busy, idle). */
export function Badge({ tone, children }: { tone: Tone; children: unknown }): VNode {
  return html`<span class=${`badge ${tone}`}>${children}</span>`;
}

/** How a status reads at a glance. */
export type Tone = "ok" | "warn" | "bad" | "busy" | "idle";

const TONES: Record<string, Tone> = {
  Synced: "ok",
  InSync: "ok",
  Ready: "ok",
  succeeded: "ok",
  approved: "ok",
  OutOfSync: "warn",
  Drifted: "warn",
  AwaitingApproval: "warn",
  Pinned: "warn",
  Orphaned: "warn",
  awaiting_approval: "warn",
  blocked: "warn",
  Failing: "bad",
  Stalled: "bad",
  failed: "bad",
  interrupted: "bad",
  rejected: "bad",
  Reconciling: "busy",
  queued: "busy",
  running: "busy",
};

/** The tone of a sync, health, condition or run status. */
export const toneOf = (word: string): Tone => TONES[word] ?? "idle";

/** A status word as a badge of its own tone. */
export const Status = ({ word }: { word: string }): VNode => html`<${Badge} tone=${toneOf(word)}>${word.replace(/_/g, " ")}<//>`;

/** "12 s ago" from an ISO time; the page's script keeps it current. */
export function ago(iso: string, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

/** A time shown by its age, the exact time on hover. */
export const Age = ({ at }: { at: string | null }): VNode =>
  at ? html`<time datetime=${at} title=${at} data-age="">${ago(at)}</time>` : html`<span class="muted">never</span>`;

/** A revision, short, the full hash on hover; linked when the repository is on GitHub. */
export function Revision({ sha, commitUrl }: { sha: string | null; commitUrl?: (sha: string) => string | undefined }): VNode {
  if (!sha) return html`<span class="muted">none</span>`;
  const href = commitUrl?.(sha);
  const code = html`<code title=${sha}>${sha.slice(0, 8)}</code>`;
  return href ? html`<a href=${href} rel="noreferrer">${code}</a>` : code;
}

/** A value of a plan or drift report, as compact JSON (secrets come as the engine's "[secret]"). */
export function formatValue(v: unknown): string {
  if (v === undefined) return "—";
  if (typeof v === "string") return v === "[secret]" ? v : JSON.stringify(v);
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 240 ? `${text.slice(0, 237)}...` : text;
}

/** The resource's name and type from its URN. */
export function resourceName(r: ResourceChange): { name: string; type: string } {
  return { name: r.urn.slice(r.urn.lastIndexOf("::") + 2), type: r.type };
}

const OPS: Record<string, Tone> = { create: "ok", update: "warn", replace: "bad", delete: "bad", drift: "warn", deleted: "bad" };

/** One row per resource a plan touches, with each property's old → new value. */
export function PlanTable({ resources, caption }: { resources: ResourceChange[]; caption: string }): VNode {
  const changed = resources.filter((r) => r.op !== "same" && r.op !== "read" && r.op !== "refresh");
  if (changed.length === 0) return html`<p class="muted">${caption}: no changes.</p>`;
  return html`<table class="plan">
    <caption>${caption}</caption>
    <thead><tr><th scope="col">Change</th><th scope="col">Resource</th><th scope="col">Properties</th></tr></thead>
    <tbody>
      ${changed.map((r) => {
        const { name, type } = resourceName(r);
        const pairs = r.drift?.map((d) => ({ path: d.path, from: d.declared, to: d.actual })) ?? r.diff?.map((d) => ({ path: d.path, from: d.old, to: d.new }));
        return html`<tr>
          <td><${Badge} tone=${OPS[r.op] ?? "idle"}>${r.op}<//></td>
          <td><strong>${name}</strong><br /><span class="muted small">${type}</span></td>
          <td>
            ${pairs?.length
              ? html`<ul class="diff">${pairs.map((p) => html`<li><code>${p.path}</code>: <del>${formatValue(p.from)}</del> → <ins>${formatValue(p.to)}</ins></li>`)}</ul>`
              : html`<span class="small">${r.properties.join(", ") || "—"}</span>`}
          </td>
        </tr>`;
      })}
    </tbody>
  </table>`;
}

/** The policy packs' findings. */
export function PolicyTable({ violations }: { violations: PolicyViolation[] }): VNode {
  if (violations.length === 0) return html`<p class="muted">No policy violations.</p>`;
  return html`<table>
    <caption>Policy violations</caption>
    <thead><tr><th scope="col">Enforcement</th><th scope="col">Pack / policy</th><th scope="col">Message</th></tr></thead>
    <tbody>
      ${violations.map(
        (v) => html`<tr>
          <td><${Badge} tone=${v.enforcement === "mandatory" ? "bad" : "warn"}>${v.enforcement}<//></td>
          <td>${v.pack} / <strong>${v.policy}</strong></td>
          <td>${v.message}${v.urn ? html`<br /><span class="muted small">${v.urn}</span>` : null}</td>
        </tr>`,
      )}
    </tbody>
  </table>`;
}

/** A definition list of label → value pairs. */
export const Facts = ({ items }: { items: [string, unknown][] }): VNode =>
  html`<dl class="facts">${items.map(([k, v]) => html`<div><dt>${k}</dt><dd>${v}</dd></div>`)}</dl>`;
