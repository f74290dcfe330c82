export { Ledger } from "./ledger.ts";
export { deriveStatus, STALL_AFTER, type StackStatus, type Condition } from "./status.ts";
export type * from "./types.ts";
