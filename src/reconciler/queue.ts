/** A unit of work for one stack. */
export interface Job {
  stack: string;
  /** Pending jobs with the same key coalesce (default: the stack), e.g. reconciles apart from drift checks. */
  key?: string;
  dependsOn: string[];
  run: () => Promise<void>;
  /** Called instead of the queue's handler when a newer job with the same key replaces this one. */
  superseded?: () => void;
}

/**
 * Runs jobs with bounded global parallelism, one at a time per stack, first
 * come first served. Each key (a stack, or a stack and a kind of work) holds at
 * most one pending job: a newer job replaces (coalesces) the pending one, which
 * is handed to `onSuperseded`. A job waits while any stack it depends on has work pending
 * or running, so dependencies apply before their dependents.
 */
export class WorkQueue<J extends Job> {
  private readonly pending = new Map<string, J>();
  private readonly order: string[] = [];
  private readonly running = new Map<string, Promise<void>>();
  private stopped = false;
  private parallelism: number;
  private readonly onSuperseded: (old: J, replacement: J) => void;

  constructor(parallelism: number, onSuperseded: (old: J, replacement: J) => void) {
    this.parallelism = parallelism;
    this.onSuperseded = onSuperseded;
  }

  setParallelism(n: number): void {
    this.parallelism = n;
    this.pump();
  }

  push(job: J): void {
    if (this.stopped) return;
    const key = job.key ?? job.stack;
    const prev = this.pending.get(key);
    if (prev) {
      if (prev.superseded) prev.superseded();
      else this.onSuperseded(prev, job);
    }
    else this.order.push(key);
    this.pending.set(key, job);
    this.pump();
  }

  depth(): number {
    return this.pending.size;
  }

  isBusy(stack: string): boolean {
    return this.running.has(stack) || [...this.pending.values()].some((j) => j.stack === stack);
  }

  /** Whether work with this key is waiting to start. */
  isPending(key: string): boolean {
    return this.pending.has(key);
  }

  /** Takes the pending jobs that match out of the queue (a cancel); returns them. */
  remove(match: (job: J) => boolean): J[] {
    const removed: J[] = [];
    for (const [key, job] of [...this.pending]) {
      if (!match(job)) continue;
      this.pending.delete(key);
      this.order.splice(this.order.indexOf(key), 1);
      removed.push(job);
    }
    if (removed.length) this.pump();
    return removed;
  }

  /** Stops starting jobs; returns the jobs that will now never run. */
  stop(): J[] {
    this.stopped = true;
    const dropped = [...this.pending.values()];
    this.pending.clear();
    this.order.length = 0;
    return dropped;
  }

  /** Resolves when every running job has finished. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()]);
  }

  private blocked(job: J): boolean {
    return job.dependsOn.some((d) => d !== job.stack && this.isBusy(d));
  }

  private pump(): void {
    if (this.stopped) return;
    for (let i = 0; i < this.order.length && this.running.size < this.parallelism; ) {
      const key = this.order[i]!;
      const job = this.pending.get(key)!;
      const stack = job.stack;
      if (this.running.has(stack) || this.blocked(job)) {
        i++;
        continue;
      }
      this.order.splice(i, 1);
      this.pending.delete(key);
      const done = job
        .run()
        .catch(() => {})
        .finally(() => {
          this.running.delete(stack);
          this.pump();
        });
      this.running.set(stack, done);
    }
  }
}
