import type { Async, Ledger, LedgerStore } from "./repositories.ts";

/** The same object with each of its methods answering through a promise. */
function promised<T extends object>(target: T): Async<T> {
  const out: Record<string, unknown> = {};
  // A class's methods live on its prototype; a plain object's on itself.
  const proto = Object.getPrototypeOf(target) as object;
  const inherited = proto === Object.prototype ? [] : Object.getOwnPropertyNames(proto);
  for (const key of inherited) {
    const method = (target as Record<string, unknown>)[key];
    if (key === "constructor" || typeof method !== "function") continue;
    out[key] = async (...args: unknown[]) => (method as (...a: unknown[]) => unknown).apply(target, args);
  }
  for (const [key, value] of Object.entries(target)) {
    if (typeof value === "function") out[key] = async (...args: unknown[]) => (value as (...a: unknown[]) => unknown).apply(target, args);
  }
  return out as Async<T>;
}

/** The embedded store behind the ledger's contract: each call still happens at once, its answer comes as a promise. */
export function asyncLedger(store: LedgerStore): Ledger {
  return {
    runs: promised(store.runs),
    stacks: promised(store.stacks),
    drift: promised(store.drift),
    approvals: promised(store.approvals),
    previews: promised(store.previews),
    meta: promised(store.meta),
    deliveries: promised(store.deliveries),
    version: async () => store.version(),
    schemaVersion: store.schemaVersion,
    compact: async () => store.compact(),
    async *dump() {
      yield* store.dump();
    },
    restore: async () => promised(store.restore()),
    close: async () => store.close(),
  };
}
