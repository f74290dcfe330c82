import type { Run } from "../ledger/index.ts";

/** One run of a cascade, and how long it took. */
export interface CascadeRun {
  run: string;
  stack: string;
  status: string;
  cascadeOf: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  seconds: number | null;
}

/** A change that ran on through the graph: the run that changed outputs first, and every run it caused. */
export interface Cascade {
  root: CascadeRun;
  revision: string;
  runs: CascadeRun[];
  /** From the first run's start to the last one's end. */
  seconds: number | null;
  /** The runs' own times added up: what the cascade would take one run after another. */
  sumOfRuns: number;
}

const seconds = (r: Run): number | null => (r.startedAt && r.finishedAt ? (Date.parse(r.finishedAt) - Date.parse(r.startedAt)) / 1000 : null);

const row = (r: Run): CascadeRun => ({ run: r.id, stack: r.stack, status: r.status, cascadeOf: r.cascadeOf, startedAt: r.startedAt, finishedAt: r.finishedAt, seconds: seconds(r) });

/** The newest cascade among `runs` (any order), or null when none of them was caused by another. */
export function lastCascade(runs: Run[]): Cascade | null {
  const byId = new Map(runs.map((r) => [r.id, r]));
  const newest = runs.filter((r) => r.cascadeOf).sort((a, b) => b.createdAt.localeCompare(a.createdAt))[0];
  if (!newest) return null;
  let root = newest;
  while (root.cascadeOf && byId.has(root.cascadeOf)) root = byId.get(root.cascadeOf)!;
  const members = [root];
  for (let i = 0; i < members.length; i++) members.push(...runs.filter((r) => r.cascadeOf === members[i]!.id));
  const rows = members.map(row).sort((a, b) => (a.startedAt ?? "~").localeCompare(b.startedAt ?? "~"));
  const starts = rows.map((r) => r.startedAt).filter((t): t is string => !!t);
  const ends = rows.map((r) => r.finishedAt).filter((t): t is string => !!t);
  const done = rows.every((r) => r.finishedAt);
  return {
    root: row(root),
    revision: root.revision,
    runs: rows,
    seconds: done && starts.length ? (Math.max(...ends.map(Date.parse)) - Math.min(...starts.map(Date.parse))) / 1000 : null,
    sumOfRuns: rows.reduce((n, r) => n + (r.seconds ?? 0), 0),
  };
}
