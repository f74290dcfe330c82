const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** The form durations take in stackd.yaml and flags: "500ms", "30s", "5m", "1h", "90d". */
export const DURATION_PATTERN = /^(\d+)(ms|s|m|h|d)$/;

/** Milliseconds of a number of seconds or of a duration string like "90s" or "20m". */
export function durationMs(value: number | string): number {
  if (typeof value === "number") return value * 1000;
  const m = DURATION_PATTERN.exec(value);
  if (!m) throw new Error(`"${value}" is not a duration: use a number of seconds or e.g. "30s", "5m"`);
  return Number(m[1]) * UNITS[m[2]!]!;
}

/** A duration as people write it: 90000 -> "90s", 1200000 -> "20m". */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], ["s", 1000]] as const) if (ms % size === 0 && ms >= size) return `${ms / size}${unit}`;
  return `${ms}ms`;
}
