import { mask } from "../support/index.ts";
import type { ResourceChange } from "../report/index.ts";
import { messageOf } from "../support/index.ts";

/** The events stackd notifies about. */
export type NotificationEventName = "drift.detected" | "drift.resolved" | "run.failed";

/** The JSON body every receiver gets (a Slack incoming webhook gets `text` instead). */
export interface Notification {
  event: NotificationEventName;
  stack: string;
  revision: string;
  runId: string;
  summary: string;
  resources?: ResourceChange[];
  error?: string | null;
  driftId?: string;
  at: string;
}

/** Where notifications go, and which events. */
export interface NotificationTarget {
  url: string;
  events?: readonly NotificationEventName[];
}

interface Log {
  warn(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
}

function isSlack(url: string): boolean {
  return /^https:\/\/hooks\.slack\.com\/services\//.test(url);
}

function slackText(n: Notification): string {
  const lines = [`*stackd* ${n.event}: ${n.stack} at ${n.revision.slice(0, 12)}: ${n.summary}`];
  for (const r of n.resources ?? []) {
    const props = (r.drift ?? []).map((d) => `${d.path}: ${JSON.stringify(d.declared)} -> ${JSON.stringify(d.actual)}`).join(", ");
    lines.push(`• ${r.op} ${r.urn.split("::").pop()} (${r.type})${props ? `: ${props}` : ""}`);
  }
  if (n.error) lines.push(`error: ${n.error}`);
  return lines.join("\n");
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

/**
 * Delivers events to webhook receivers in the background: retried with
 * exponential backoff, a failing receiver only logged, never waited for.
 */
export class Notifier {
  private readonly log: Log;
  private readonly attempts: number;
  private readonly baseDelayMs: number;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(log: Log, opts: { attempts?: number; baseDelayMs?: number } = {}) {
    this.log = log;
    this.attempts = opts.attempts ?? 4;
    this.baseDelayMs = opts.baseDelayMs ?? 500;
  }

  send(targets: NotificationTarget[], n: Notification): void {
    for (const t of targets) {
      if (t.events && !t.events.includes(n.event)) continue;
      const p = this.deliver(t.url, n).finally(() => this.inFlight.delete(p));
      this.inFlight.add(p);
    }
  }

  /** Resolves when every delivery under way has finished or given up. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }

  private async deliver(url: string, n: Notification): Promise<void> {
    const body = mask(JSON.stringify(isSlack(url) ? { text: slackText(n) } : n));
    let last = "";
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      try {
        const res = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json", "user-agent": "stackd" },
          body,
          signal: AbortSignal.timeout(10_000),
        });
        if (res.ok) return;
        last = `HTTP ${res.status}`;
      } catch (err) {
        last = messageOf(err);
      }
      if (attempt < this.attempts) await sleep(this.baseDelayMs * 2 ** (attempt - 1));
    }
    this.log.warn({ url: mask(url), event: n.event, stack: n.stack, err: last, attempts: this.attempts }, "notification not delivered");
  }
}
