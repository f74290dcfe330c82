import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { installRoot } from "../../support/index.ts";

/** Where `npm run setup` builds the dashboard's script and styles (scripts/build-dashboard.ts). */
export const ASSETS_DIR = path.join(installRoot, "dist", "dashboard");

/** One built file the dashboard serves. */
export interface Asset {
  body: Buffer;
  type: string;
  /** Its content hash: the URL carries it, so a browser may keep the file for good. */
  hash: string;
}

const TYPES: Record<string, string> = { ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8" };

/** The built assets by file name; empty when the dashboard was not built. */
export function loadAssets(dir = ASSETS_DIR): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  if (!fs.existsSync(dir)) return assets;
  for (const name of fs.readdirSync(dir)) {
    const type = TYPES[path.extname(name)];
    if (!type) continue;
    const body = fs.readFileSync(path.join(dir, name));
    assets.set(name, { body, type, hash: createHash("sha256").update(body).digest("hex").slice(0, 16) });
  }
  return assets;
}

/** Each asset's URL, with its hash. */
export const assetUrls = (assets: Map<string, Asset>): Record<string, string> =>
  Object.fromEntries([...assets].map(([name, a]) => [name, `/assets/${name}?v=${a.hash}`]));
