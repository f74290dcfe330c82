// Every engine operation runs as a session of its own (the CLI, and its
// language host, plugins and policy analyzers, which the CLI puts in process
// groups of their own inside that session), recorded in the data dir, so
// stackd can end all of it on timeout, cancel or stop, and end what a
// crashed stackd left behind — and only that.
import fs from "node:fs";
import path from "node:path";

/** The variable the CLI wrapper reads: where to record the process group it starts. */
export const GROUPS_VAR = "STACKD_PROCESS_GROUPS";

/** The wrapper stackd runs instead of the CLI: it records its pid, then becomes the CLI as a new session (sid = pid). */
export function wrapperScript(realPulumi: string): string {
  return [
    "#!/bin/sh",
    "# Runs the Pulumi CLI as the leader of a session of its own, recorded for stackd.",
    `if [ -n "$${GROUPS_VAR}" ]; then echo $$ > "$${GROUPS_VAR}/$$"; fi`,
    `exec setsid ${JSON.stringify(realPulumi)} "$@"`,
    "",
  ].join("\n");
}

/** The members of each session, from /proc (Linux). */
function members(): Map<number, { pid: number; cmd: string }[]> {
  const groups = new Map<number, { pid: number; cmd: string }[]>();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      // The command name may hold spaces and parentheses: fields start after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const sid = Number(fields[3]);
      const cmd = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").replace(/\0/g, " ");
      groups.set(sid, [...(groups.get(sid) ?? []), { pid: Number(entry), cmd }]);
    } catch {
      // gone meanwhile
    }
  }
  return groups;
}

function recordedGroups(dir: string): number[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).map(Number).filter((n) => Number.isInteger(n) && n > 1);
}

/**
 * Ends every process of the sessions recorded in `dir` (SIGKILL: they had
 * their chance to stop) and forgets them. A session is ended only while one
 * of its members is still a Pulumi process: a pid the system reused for
 * something else is left alone. Returns how many processes were ended.
 */
export function endGroups(dir: string): number {
  const recorded = recordedGroups(dir);
  let ended = 0;
  if (recorded.length > 0) {
    const all = members();
    for (const sid of recorded) {
      const session = all.get(sid) ?? [];
      if (!session.some((m) => /pulumi/.test(m.cmd))) continue;
      for (const m of session) {
        try {
          process.kill(m.pid, "SIGKILL");
          ended++;
        } catch {
          // ended meanwhile
        }
      }
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
  return ended;
}

/** A fresh directory for one operation's groups, named for the stackd process that owns it. */
export function operationGroupsDir(root: string): string {
  fs.mkdirSync(root, { recursive: true });
  return fs.mkdtempSync(path.join(root, `${process.pid}-`));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * At start: ends the groups of every operation a stackd that is no longer
 * running recorded under `root` (a crash, kill -9). Operations of a stackd
 * still running on the same data dir are left alone.
 */
export function endAbandonedGroups(root: string): number {
  if (!fs.existsSync(root)) return 0;
  let ended = 0;
  for (const d of fs.readdirSync(root)) {
    const owner = Number(d.split("-")[0]);
    if (owner !== process.pid && alive(owner)) continue;
    ended += endGroups(path.join(root, d));
  }
  return ended;
}
