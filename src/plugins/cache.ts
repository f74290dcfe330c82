import fs from "node:fs";
import path from "node:path";
import { createHash } from "node:crypto";

/** A plugin installed in a plugin home, as `stackd plugins` lists it. */
export interface CachedPlugin {
  kind: string;
  name: string;
  version: string;
  dir: string;
  size: number;
  sha256: string;
  installedAt: string;
}

const PLUGIN_DIR = /^(resource|analyzer|language|converter|tool)-(.+)-v(\d+\.\d+\.\d+[^/]*)$/;

/** The tarball name Pulumi's release hosts and mirrors serve for this machine. */
export function tarballName(kind: string, name: string, version: string): string {
  const os = process.platform === "darwin" ? "darwin" : process.platform === "win32" ? "windows" : "linux";
  const arch = process.arch === "x64" ? "amd64" : process.arch;
  return `pulumi-${kind}-${name}-v${version}-${os}-${arch}.tar.gz`;
}

function sizeOf(p: string): number {
  const st = fs.lstatSync(p);
  if (!st.isDirectory()) return st.size;
  return fs.readdirSync(p).reduce((sum, f) => sum + sizeOf(path.join(p, f)), 0);
}

const digests = new Map<string, string>();

/** sha256 of the plugin's executable, remembered per file size and mtime (a provider binary is tens of MiB). */
function binaryDigest(dir: string, kind: string, name: string): string {
  const bin = path.join(dir, `pulumi-${kind}-${name}`);
  if (!fs.existsSync(bin)) return "";
  const st = fs.statSync(bin);
  const key = `${bin}:${st.size}:${st.mtimeMs}`;
  let digest = digests.get(key);
  if (!digest) {
    digest = createHash("sha256").update(fs.readFileSync(bin)).digest("hex");
    digests.set(key, digest);
  }
  return digest;
}

/** Every complete plugin in a home's cache (an install in progress leaves a `.partial` marker and is skipped). */
export function listPlugins(home: string): CachedPlugin[] {
  const root = path.join(home, "plugins");
  if (!fs.existsSync(root)) return [];
  const out: CachedPlugin[] = [];
  for (const entry of fs.readdirSync(root, { withFileTypes: true })) {
    const m = PLUGIN_DIR.exec(entry.name);
    if (!m || !entry.isDirectory() || fs.existsSync(path.join(root, `${entry.name}.partial`))) continue;
    const dir = path.join(root, entry.name);
    const [, kind, name, version] = m as unknown as [string, string, string, string];
    out.push({
      kind,
      name,
      version,
      dir,
      size: sizeOf(dir),
      sha256: binaryDigest(dir, kind, name),
      installedAt: fs.statSync(dir).mtime.toISOString(),
    });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name) || compareVersions(b.version, a.version));
}

/** The installed plugin of that kind, name and version, if complete. */
export function findInstalled(home: string, kind: string, name: string, version: string): CachedPlugin | undefined {
  const dir = path.join(home, "plugins", `${kind}-${name}-v${version}`);
  if (!fs.existsSync(dir) || fs.existsSync(`${dir}.partial`)) return undefined;
  return { kind, name, version, dir, size: 0, sha256: binaryDigest(dir, kind, name), installedAt: fs.statSync(dir).mtime.toISOString() };
}

/** Semantic version order on the numeric core; a release sorts after its pre-releases. */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string) => {
    const [core, pre] = v.split("-", 2) as [string, string | undefined];
    return { nums: core.split(".").map((n) => Number(n) || 0), pre };
  };
  const x = parse(a);
  const y = parse(b);
  for (let i = 0; i < 3; i++) if ((x.nums[i] ?? 0) !== (y.nums[i] ?? 0)) return (x.nums[i] ?? 0) - (y.nums[i] ?? 0);
  if (x.pre === y.pre) return 0;
  if (!x.pre) return 1;
  if (!y.pre) return -1;
  return x.pre.localeCompare(y.pre);
}
