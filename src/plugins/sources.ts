import fs from "node:fs";
import path from "node:path";
import { tarballName } from "./cache.ts";

/** Where plugins come from, in the order they are tried. */
export type PluginSource =
  | { kind: "dir"; dir: string }
  | { kind: "mirror"; url: string; env: Record<string, string> }
  | { kind: "default" };

/** stackd.yaml's `plugins:` block. */
export interface PluginSettings {
  dir?: string;
  mirror?: string;
}

/** Pulumi reads this to send plugin downloads elsewhere: `regexp=URL[,regexp=URL]`. */
export const OVERRIDES_VAR = "PULUMI_PLUGIN_DOWNLOAD_URL_OVERRIDES";

/**
 * The sources of one checkout: an offline directory of tarballs (stackd.yaml
 * `plugins.dir`, relative to the checkout, or STACKD_PLUGIN_DIR), then a
 * mirror (PULUMI_PLUGIN_DOWNLOAD_URL_OVERRIDES as set for stackd, or
 * stackd.yaml `plugins.mirror`, which becomes that override); with neither,
 * Pulumi's default sources.
 */
export function pluginSources(settings: PluginSettings | undefined, env: Record<string, string | undefined>, checkout: string): PluginSource[] {
  const sources: PluginSource[] = [];
  const dir = settings?.dir ? path.resolve(checkout, settings.dir) : env.STACKD_PLUGIN_DIR;
  if (dir) sources.push({ kind: "dir", dir });
  const overrides = env[OVERRIDES_VAR];
  if (overrides) {
    sources.push({ kind: "mirror", url: overrides.split(",").map((o) => o.slice(o.indexOf("=") + 1)).join(", "), env: { [OVERRIDES_VAR]: overrides } });
  } else if (settings?.mirror) {
    // A mirror is a flat directory of tarballs: every plugin's source goes to it.
    sources.push({ kind: "mirror", url: settings.mirror, env: { [OVERRIDES_VAR]: `.*=${settings.mirror.replace(/\/+$/, "")}` } });
  }
  if (sources.length === 0) sources.push({ kind: "default" });
  return sources;
}

/**
 * The plugin environment of the engine during an operation: a mirror keeps
 * serving anything the language host did not report up front; offline, the
 * engine fetches nothing; registry lookups would ask the internet first.
 */
export function pluginEnv(sources: PluginSource[]): Record<string, string> {
  const mirror = sources.find((s) => s.kind === "mirror");
  if (mirror?.kind === "mirror") return { ...mirror.env, PULUMI_DISABLE_REGISTRY_RESOLVE: "true" };
  if (sources.some((s) => s.kind === "dir")) return { PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true", PULUMI_DISABLE_REGISTRY_RESOLVE: "true" };
  return {};
}

/** The tarball for a plugin in an offline directory, if it is there. */
export function tarballIn(dir: string, kind: string, name: string, version: string): string | undefined {
  const file = path.join(dir, tarballName(kind, name, version));
  return fs.existsSync(file) ? file : undefined;
}

/** Every plugin an offline directory holds a tarball of, for this machine's OS and architecture. */
export function tarballsIn(dir: string): { kind: string; name: string; version: string }[] {
  if (!fs.existsSync(dir)) return [];
  // The platform suffix of this machine's tarballs, e.g. "-linux-amd64.tar.gz".
  const suffix = tarballName("k", "n", "0.0.0").slice("pulumi-k-n-v0.0.0".length);
  const out: { kind: string; name: string; version: string }[] = [];
  for (const f of fs.readdirSync(dir)) {
    if (!f.endsWith(suffix)) continue;
    const m = /^pulumi-(resource|analyzer|language|converter|tool)-(.+)-v(\d+\.\d+\.\d+[^-]*(?:-[^-]+)?)$/.exec(f.slice(0, -suffix.length));
    if (m) out.push({ kind: m[1]!, name: m[2]!, version: m[3]! });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version));
}

/** Versions of a plugin an offline directory holds. */
export function versionsIn(dir: string, kind: string, name: string): string[] {
  return tarballsIn(dir)
    .filter((t) => t.kind === kind && t.name === name)
    .map((t) => t.version);
}

/** How a source is named in messages. */
export function describeSource(s: PluginSource): string {
  return s.kind === "dir" ? `offline dir ${s.dir}` : s.kind === "mirror" ? `mirror ${s.url}` : "Pulumi's default sources";
}
