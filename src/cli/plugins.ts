import path from "node:path";
import { installFromDir, listPlugins, pluginHome } from "../plugins/index.ts";
import { progressToStderr, requireFormat, writeOut } from "./output.ts";

function size(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;
}

/** `stackd plugins`: the shared plugin cache, one line per plugin. */
export async function pluginsCommand(flags: { format: string }): Promise<number> {
  const format = requireFormat(flags.format, ["text", "json"] as const);
  const home = pluginHome();
  const plugins = listPlugins(home).map(({ dir: _dir, ...p }) => p);
  if (format === "json") {
    writeOut(`${JSON.stringify({ cache: path.join(home, "plugins"), plugins }, null, 2)}\n`);
    return 0;
  }
  const rows = plugins.map((p) => [p.kind, p.name, p.version, size(p.size), p.sha256, p.installedAt]);
  const header = ["KIND", "NAME", "VERSION", "SIZE", "SHA256", "INSTALLED"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  writeOut(`cache: ${path.join(home, "plugins")}\n${plugins.length ? [header, ...rows].map(line).join("\n") : "no plugins installed"}\n`);
  return 0;
}

/** `stackd plugins install --dir PATH`: pre-seeds the cache from tarballs, for hosts without internet. */
export async function pluginsInstallCommand(flags: { dir: string; format: string }): Promise<number> {
  const format = requireFormat(flags.format, ["text", "json"] as const);
  const results = await installFromDir(path.resolve(flags.dir), pluginHome(), progressToStderr);
  if (format === "json") {
    writeOut(`${JSON.stringify(results, null, 2)}\n`);
    return 0;
  }
  writeOut(
    `${results.map((r) => `${r.installed ? "installed" : "cached   "} ${r.plugin.kind} ${r.plugin.name} v${r.plugin.version} sha256 ${r.plugin.sha256}`).join("\n")}\n`,
  );
  return 0;
}
