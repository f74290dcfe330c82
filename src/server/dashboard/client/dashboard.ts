// The dashboard's only script: it keeps server-rendered pages current. Pages
// work without it; with it, rows, run summaries and logs update live over
// server-sent events and the stack filter applies as you type.

const $ = <T extends Element>(sel: string, root: ParentNode = document): T | null => root.querySelector<T>(sel);
const $$ = <T extends Element>(sel: string, root: ParentNode = document): T[] => [...root.querySelectorAll<T>(sel)];

/** "12 s ago", as the server renders it. */
function ago(iso: string): string {
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

function refreshAges(): void {
  for (const t of $$<HTMLTimeElement>("time[data-age]")) t.textContent = ago(t.dateTime);
}

// --- the stacks list's filter ---------------------------------------------------
const filterText = $<HTMLInputElement>("#filter-q");
const filterCondition = $<HTMLSelectElement>("#filter-condition");
const rows = $<HTMLTableSectionElement>("#stack-rows");

function applyFilter(): void {
  if (!rows) return;
  const q = (filterText?.value ?? "").trim().toLowerCase();
  const condition = filterCondition?.value ?? "";
  let shown = 0;
  const all = $$<HTMLTableRowElement>("tr[data-stack]", rows);
  for (const tr of all) {
    const words = (tr.dataset.words ?? "").split(" ");
    tr.hidden = !((!q || (tr.dataset.stack ?? "").toLowerCase().includes(q)) && (!condition || words.includes(condition)));
    if (!tr.hidden) shown++;
  }
  const count = $("#shown");
  if (count) count.textContent = `${shown} of ${all.length} shown`;
  for (const counter of $$<HTMLElement>("[data-count]")) {
    counter.textContent = String(all.filter((tr) => (tr.dataset.words ?? "").split(" ").includes(counter.dataset.count ?? "")).length);
  }
  const params = new URLSearchParams();
  if (q) params.set("q", q);
  if (condition) params.set("condition", condition);
  history.replaceState(null, "", params.size ? `?${params}` : location.pathname);
}

filterText?.addEventListener("input", applyFilter);
filterCondition?.addEventListener("change", applyFilter);

function replaceRow(name: string, markup: string): void {
  if (!rows) return;
  const current = $$<HTMLTableRowElement>("tr[data-stack]", rows).find((tr) => tr.dataset.stack === name);
  const template = document.createElement("template");
  template.innerHTML = markup.trim();
  const row = template.content.firstElementChild;
  if (!row) current?.remove();
  else if (current) current.replaceWith(row);
  else rows.append(row);
  applyFilter();
}

// --- parts of a page that follow what happens -----------------------------------
let refreshing: number | undefined;

/** Fetches the page again and swaps each part marked data-refresh for its new self. */
function refreshParts(): void {
  clearTimeout(refreshing);
  refreshing = window.setTimeout(async () => {
    const res = await fetch(location.href, { credentials: "same-origin", headers: { accept: "text/html" } });
    if (!res.ok || res.redirected) return;
    const fresh = new DOMParser().parseFromString(await res.text(), "text/html");
    for (const part of $$<HTMLElement>("[data-refresh][id]")) {
      const next = fresh.getElementById(part.id);
      if (next) part.replaceWith(document.importNode(next, true));
    }
    if (rows) {
      const nextRows = fresh.getElementById("stack-rows");
      if (nextRows) rows.replaceChildren(...[...nextRows.children].map((c) => document.importNode(c, true)));
      applyFilter();
    }
    refreshAges();
  }, 250);
}

const liveStack = $<HTMLElement>("[data-live-stack]")?.dataset.liveStack;
const liveNote = $("#live");

if (rows || liveStack) {
  const events = new EventSource("/ui/events");
  events.addEventListener("open", () => liveNote && (liveNote.textContent = "● Live"));
  events.addEventListener("error", () => liveNote && (liveNote.textContent = "Reconnecting…"));
  events.addEventListener("stack", (e) => {
    const { name, html } = JSON.parse((e as MessageEvent<string>).data) as { name: string; html: string };
    replaceRow(name, html);
    if (name === liveStack) refreshParts();
    refreshAges();
  });
  events.addEventListener("head", () => refreshParts());
}

// --- a running run's log ---------------------------------------------------------
const log = $<HTMLPreElement>("#run-log[data-log-src]");
if (log) {
  const stream = new EventSource(log.dataset.logSrc!);
  let pending = "";
  let frame = 0;
  // Lines arrive in bursts: they are written once per frame, and the view follows the end unless scrolled up.
  const flush = () => {
    frame = 0;
    const follow = log.scrollTop + log.clientHeight >= log.scrollHeight - 8;
    log.append(pending);
    pending = "";
    if (follow) log.scrollTop = log.scrollHeight;
  };
  stream.addEventListener("line", (e) => {
    pending += `${(e as MessageEvent<string>).data}\n`;
    frame ||= requestAnimationFrame(flush);
  });
  stream.addEventListener("end", () => {
    stream.close();
    if (pending) flush();
    log.removeAttribute("aria-live");
    refreshParts();
  });
}

refreshAges();
setInterval(refreshAges, 5_000);
