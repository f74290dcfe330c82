import { createHash } from "node:crypto";

/** The first 16 hex digits of the sha256 of the parts: a cache key. */
export function shortHash(...parts: (string | Buffer)[]): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest("hex").slice(0, 16);
}
