import { Cron } from "croner";

/**
 * One cron job per stack that calls `onTick(stack)`. `update` replaces the
 * schedules (after a new revision or stackd.yaml): unchanged ones keep their
 * timers, "off" removes a stack's job.
 */
export class DriftScheduler {
  private readonly jobs = new Map<string, { pattern: string; cron: Cron }>();
  private readonly onTick: (stack: string) => void;

  constructor(onTick: (stack: string) => void) {
    this.onTick = onTick;
  }

  update(schedules: Map<string, string>): void {
    for (const [stack, job] of this.jobs) {
      if (schedules.get(stack) !== job.pattern) {
        job.cron.stop();
        this.jobs.delete(stack);
      }
    }
    for (const [stack, pattern] of schedules) {
      if (pattern === "off" || this.jobs.has(stack)) continue;
      // protect: a tick is skipped while the previous one's callback still runs.
      const cron = new Cron(pattern, { protect: true, unref: true }, () => this.onTick(stack));
      this.jobs.set(stack, { pattern, cron });
    }
  }

  nextRun(stack: string): Date | null {
    return this.jobs.get(stack)?.cron.nextRun() ?? null;
  }

  stop(): void {
    for (const job of this.jobs.values()) job.cron.stop();
    this.jobs.clear();
  }
}
