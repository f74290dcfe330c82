import { randomBytes } from "node:crypto";

/** A sortable, unique id with a prefix naming what it identifies: run_…, drift_…, preview_…. */
export function newId(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
}
