import path from "node:path";
import type { Settings, StackEntry } from "../catalog/index.ts";
import { SETTINGS_FILE, settingsFor } from "../catalog/index.ts";
import { packDirsFor } from "../policy/index.ts";

const under = (dir: string, p: string) => dir === "" || p === dir || p.startsWith(`${dir}/`);

/**
 * Whether a change to `changed` paths affects a stack: its own config file,
 * files of its project (not other stacks' config files, not nested projects),
 * its program's directory when Pulumi.yaml's `main` lies outside the project, stackd.yaml,
 * the policy packs that judge it, or `watch` globs. Paths matching `ignore` (default:
 * markdown) affect nothing. A stack another depends on does not make it affected: the
 * dependent runs again after it only when its outputs change (see Cascades).
 */
export function affectedStacks(entries: StackEntry[], settings: Settings, changed: string[]): Set<string> {
  const name = (e: StackEntry) => `${e.project}/${e.stack}`;
  const configFiles = new Set(entries.map((e) => e.configFile));
  const projectDirs = [...new Set(entries.map((e) => e.projectDir))];
  const relevant = changed.filter((p) => !settings.ignore.some((g) => path.matchesGlob(p, g)));
  const affected = new Set<string>();
  for (const e of entries) {
    const own = settingsFor(settings, e.project, e.stack);
    const globs = [...settings.watch, ...own.watch];
    const packs = packDirsFor(settings, own);
    const nested = projectDirs.filter((d) => d !== e.projectDir && under(e.projectDir, d));
    const hit = relevant.some(
      (p) =>
        p === e.configFile ||
        p === SETTINGS_FILE ||
        packs.some((d) => under(d, p)) ||
        globs.some((g) => path.matchesGlob(p, g)) ||
        (under(e.projectDir, p) && !configFiles.has(p) && !nested.some((d) => under(d, p))) ||
        (!under(e.projectDir, e.programDir) && under(e.programDir, p)),
    );
    if (hit) affected.add(name(e));
  }
  return affected;
}
