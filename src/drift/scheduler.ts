import { Cron } from "croner";

/** One firing of a schedule: its pattern and the time it was due (the same in every replica). */
export interface Tick {
  pattern: string;
  at: Date;
}

/**
 * Calls `onTick(stacks, tick)` with the stacks on each drift schedule as it fires. Stacks that
 * share a schedule share one cron job: a croner job holds about 80 KB (a
 * table of every year it may fire in), so one job per stack cost 80 MB of
 * heap at 1,000 stacks, nearly all of them on the default schedule.
 * `update` replaces the schedules (after a new revision or stackd.yaml): a
 * schedule still in use keeps its timer, "off" leaves a stack out.
 */
export class DriftScheduler {
  /** One job per distinct pattern, with the stacks it ticks for. */
  private readonly jobs = new Map<string, { stacks: Set<string>; cron: Cron }>();
  private readonly onTick: (stacks: string[], tick: Tick) => void;

  constructor(onTick: (stacks: string[], tick: Tick) => void) {
    this.onTick = onTick;
  }

  update(schedules: Map<string, string>): void {
    const wanted = new Map<string, Set<string>>();
    for (const [stack, pattern] of schedules) {
      if (pattern === "off") continue;
      let stacks = wanted.get(pattern);
      if (!stacks) wanted.set(pattern, (stacks = new Set()));
      stacks.add(stack);
    }
    for (const [pattern, job] of this.jobs) {
      if (wanted.has(pattern)) continue;
      job.cron.stop();
      this.jobs.delete(pattern);
    }
    for (const [pattern, stacks] of wanted) {
      const job = this.jobs.get(pattern);
      if (job) {
        job.stacks = stacks;
        continue;
      }
      // protect: a tick is skipped while the previous one's callback still runs.
      // The tick looks its stacks up when it fires, so an update in between is honoured.
      const cron = new Cron(pattern, { protect: true, unref: true }, (self: Cron) => {
        // Croner hands over the time it fired; the time it was due is the schedule's latest at or before now.
        const at = self.previousRuns(1, new Date(Date.now() + 1))[0] ?? new Date();
        this.onTick([...(this.jobs.get(pattern)?.stacks ?? [])], { pattern, at });
      });
      this.jobs.set(pattern, { stacks, cron });
    }
  }

  /** When the stack's next check is due; null when it has no schedule. */
  nextRun(stack: string): Date | null {
    for (const job of this.jobs.values()) if (job.stacks.has(stack)) return job.cron.nextRun();
    return null;
  }

  stop(): void {
    for (const job of this.jobs.values()) job.cron.stop();
    this.jobs.clear();
  }
}
