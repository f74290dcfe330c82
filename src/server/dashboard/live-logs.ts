import type { EventEmitter } from "node:events";
import type { Run } from "../../ledger/index.ts";
import { mask } from "../../support/index.ts";

/** Someone following a run's log. */
export interface LogListener {
  line(text: string): void;
  end(): void;
}

interface LiveLog {
  lines: string[];
  /** The last line while the engine has not finished writing it. */
  partial: string;
  dropped: number;
  listeners: Set<LogListener>;
}

/** Lines kept per running run for those who open its page late; older lines are dropped (the ledger keeps the whole log). */
const MAX_LINES = 5_000;

/**
 * The engine output of the runs in progress, as whole masked lines: a secret
 * split across two chunks of output is masked once its line is whole, so
 * no part of it is ever sent. Kept only while a run runs.
 */
export class LiveLogs {
  private readonly runs = new Map<string, LiveLog>();
  private readonly events: EventEmitter;
  private readonly listeners = {
    started: (run: Run) => void this.open(run.id),
    output: (id: string, chunk: string) => this.append(id, chunk),
    finished: (run: Run) => this.close(run.id),
  };

  constructor(events: EventEmitter) {
    this.events = events;
    for (const [event, fn] of Object.entries(this.listeners)) events.on(event, fn);
  }

  /** Stops listening (the server closes); followers are ended. */
  detach(): void {
    for (const [event, fn] of Object.entries(this.listeners)) this.events.off(event, fn);
    for (const id of [...this.runs.keys()]) this.close(id);
  }

  private open(id: string): LiveLog {
    let log = this.runs.get(id);
    if (!log) this.runs.set(id, (log = { lines: [], partial: "", dropped: 0, listeners: new Set() }));
    return log;
  }

  private append(id: string, chunk: string): void {
    const log = this.runs.get(id);
    if (!log) return;
    const parts = (log.partial + chunk).split(/\r?\n/);
    log.partial = parts.pop()!;
    for (const part of parts) this.emit(log, mask(part));
  }

  private emit(log: LiveLog, line: string): void {
    log.lines.push(line);
    if (log.lines.length > MAX_LINES) {
      log.lines.shift();
      log.dropped++;
    }
    for (const l of log.listeners) l.line(line);
  }

  private close(id: string): void {
    const log = this.runs.get(id);
    if (!log) return;
    if (log.partial) this.emit(log, mask(log.partial));
    this.runs.delete(id);
    for (const l of log.listeners) l.end();
  }

  /**
   * Follows a run that is queued or running: the lines so far, then each
   * new one, then the end. Returns the way to stop following.
   */
  follow(id: string, listener: LogListener): { backlog: string[]; stop(): void } {
    const log = this.open(id);
    log.listeners.add(listener);
    const backlog = log.dropped ? [`(${log.dropped} earlier lines are in the run's stored log)`, ...log.lines] : [...log.lines];
    return { backlog, stop: () => log.listeners.delete(listener) };
  }

  /** Forgets a run that will never start (skipped or cancelled while queued), ending its followers. */
  forget(id: string): void {
    this.close(id);
  }
}
