import type { Settings } from "../catalog/index.ts";
import type { Notification, NotificationTarget } from "../notify/index.ts";
import type { ServiceContext, StackJob } from "./context.ts";

/** Sends a run's event to the notification targets the settings name (never awaited by the run). */
export function notifyRun(ctx: ServiceContext, settings: Settings, job: StackJob, event: Notification["event"], summary: string, extra: Partial<Notification> = {}): void {
  const targets: NotificationTarget[] = settings.notifications.map((n) => (typeof n === "string" ? { url: n } : n));
  if (targets.length === 0) return;
  ctx.notifier.send(targets, { event, stack: job.stack, revision: job.revision, runId: job.runId, summary, at: new Date().toISOString(), ...extra });
}
