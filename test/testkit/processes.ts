// What is still running on behalf of a data dir: processes whose working
// directory or command line lies under it (the engine, language hosts,
// plugins and providers run in the data dir's worktrees).
import fs from "node:fs";

/** Processes (pid and command) working under `dir`, other than this one. */
export function processesUnder(dir: string): { pid: number; cmd: string }[] {
  const out: { pid: number; cmd: string }[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cwd = fs.readlinkSync(`/proc/${entry}/cwd`);
      const cmd = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").replace(/\0/g, " ").trim();
      if (cwd.startsWith(dir) || cmd.includes(dir)) out.push({ pid: Number(entry), cmd });
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}

/** Members of the sessions `sids` (an engine operation each) that are still alive. */
export function membersOf(sids: number[]): number[] {
  const alive: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const sid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[3]);
      if (sids.includes(sid)) alive.push(Number(entry));
    } catch {
      // gone
    }
  }
  return alive;
}
