/**
 * Counts failed authentications per address: after `limit` failures within
 * a minute the address is refused (429) for `blockMs`, whatever it sends,
 * so a token cannot be guessed at network speed.
 */
export class FailureLimiter {
  private readonly limit: number;
  private readonly blockMs: number;
  private readonly failures = new Map<string, number[]>();
  private readonly blocked = new Map<string, number>();

  constructor(limit = 20, blockMs = 60_000) {
    this.limit = limit;
    this.blockMs = blockMs;
  }

  /** Seconds the address must still wait, or 0 when it may try. */
  retryAfter(address: string, now = Date.now()): number {
    const until = this.blocked.get(address);
    if (until === undefined) return 0;
    if (until <= now) {
      this.blocked.delete(address);
      return 0;
    }
    return Math.ceil((until - now) / 1000);
  }

  /** Notes one failure; true when it tipped the address over the limit. */
  fail(address: string, now = Date.now()): boolean {
    const recent = (this.failures.get(address) ?? []).filter((t) => t > now - 60_000);
    recent.push(now);
    if (recent.length >= this.limit) {
      this.failures.delete(address);
      this.blocked.set(address, now + this.blockMs);
      return true;
    }
    this.failures.set(address, recent);
    // Old addresses go, so a scan from many addresses cannot grow the maps without end.
    if (this.failures.size > 10_000) for (const [a, ts] of this.failures) if (ts.every((t) => t <= now - 60_000)) this.failures.delete(a);
    return false;
  }
}
