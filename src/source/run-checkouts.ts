import { randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";

/**
 * The file beside each slot: the revision it holds, an id that changes
 * whenever its contents are replaced (by any process), and when a run last used it.
 */
const SlotRecord = z.object({ revision: z.string(), id: z.string(), usedAt: z.number() });

/** A checkout held for one run; `release` when the run is over. */
export interface RunCheckout {
  /** The checkout's directory: the same few paths again and again. */
  dir: string;
  /** Changes whenever the directory's contents are replaced: what was prepared in it is keyed by this. */
  key: string;
  release(): void;
}

/** The git work a slot needs, done by the source in turn with its other git calls. */
export interface SlotGit {
  /** Makes `dir` a new detached worktree at `revision`. */
  add(dir: string, revision: string): Promise<void>;
  /** Moves the worktree at `dir` to `revision` and removes every file git does not track. */
  switchTo(dir: string, revision: string): Promise<void>;
}

interface Held {
  revision: string;
  users: number;
  id: string;
}

function ownerAlive(lockFile: string): boolean {
  try {
    const pid = Number(fs.readFileSync(lockFile, "utf8").trim());
    if (!Number.isInteger(pid) || pid <= 0) return false;
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * The directories where engine operations run: a few stable worktrees
 * (`<root>/0`, `<root>/1`, ...) moved from revision to revision, instead of a
 * new path per commit. Pulumi's TypeScript compile cache and its workspace
 * records are keyed by a program's path, so a program run where it ran before
 * starts in about a second instead of compiling and type-checking from
 * scratch. Runs of one revision share a slot; runs of different revisions get
 * different slots, so no run's files change under it. A slot is claimed by a
 * lock file holding the process id, so two stackd processes on one data dir
 * never share one; a claim left by a process that died is taken over.
 */
export class RunCheckouts {
  private readonly held = new Map<string, Held>();
  private turn: Promise<unknown> = Promise.resolve();
  private readonly root: string;
  private readonly git: SlotGit;

  constructor(root: string, git: SlotGit) {
    this.root = root;
    this.git = git;
  }

  /** A checkout of `revision` in a stable directory, held until released. */
  lease(revision: string): Promise<RunCheckout> {
    const next = this.turn.then(() => this.claim(revision));
    this.turn = next.catch(() => {});
    return next;
  }

  private async claim(revision: string): Promise<RunCheckout> {
    const shared = [...this.held.entries()].find(([, h]) => h.revision === revision);
    if (shared) return this.hold(shared[0]);
    fs.mkdirSync(this.root, { recursive: true });
    const slots = fs
      .readdirSync(this.root)
      .filter((n) => /^\d+$/.test(n))
      .map(Number)
      .sort((a, b) => a - b);
    const free = slots.map((n) => path.join(this.root, String(n))).filter((dir) => !this.held.has(dir) && this.take(dir));
    // The slot last used for this revision needs no checkout; otherwise the one idle longest.
    const records = new Map(free.map((dir) => [dir, this.recorded(dir)]));
    const chosen = free.find((dir) => records.get(dir)?.revision === revision) ?? free.sort((a, b) => (records.get(a)?.usedAt ?? 0) - (records.get(b)?.usedAt ?? 0))[0];
    for (const dir of free) if (dir !== chosen) fs.rmSync(`${dir}.lock`, { force: true });
    let dir = chosen;
    if (!dir) {
      let n = 0;
      while (slots.includes(n) || !this.take(path.join(this.root, String(n)))) n++;
      dir = path.join(this.root, String(n));
    }
    const record = records.get(dir);
    let id = record?.revision === revision ? record.id : undefined;
    try {
      if (!fs.existsSync(path.join(dir, ".git"))) {
        id = undefined;
        fs.rmSync(dir, { recursive: true, force: true });
        await this.git.add(dir, revision);
      } else if (!id) {
        fs.rmSync(`${dir}.revision`, { force: true });
        await this.git.switchTo(dir, revision);
      }
    } catch (err) {
      fs.rmSync(`${dir}.lock`, { force: true });
      throw err;
    }
    this.held.set(dir, { revision, users: 0, id: id ?? randomUUID() });
    return this.hold(dir);
  }

  private hold(dir: string): RunCheckout {
    const h = this.held.get(dir)!;
    h.users++;
    fs.writeFileSync(`${dir}.revision`, JSON.stringify({ revision: h.revision, id: h.id, usedAt: Date.now() }));
    let released = false;
    return {
      dir,
      key: `${dir}#${h.id}`,
      release: () => {
        if (released) return;
        released = true;
        if (--h.users > 0) return;
        this.held.delete(dir);
        fs.rmSync(`${dir}.lock`, { force: true });
      },
    };
  }

  /** Claims a slot for this process unless a live one holds it. */
  private take(dir: string): boolean {
    const lock = `${dir}.lock`;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        fs.writeFileSync(lock, String(process.pid), { flag: "wx" });
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
        if (ownerAlive(lock)) return false;
        fs.rmSync(lock, { force: true });
      }
    }
    return false;
  }

  /** The revision a slot was last checked out at, and when it was last used (a file beside the slot). */
  private recorded(dir: string): z.infer<typeof SlotRecord> | undefined {
    try {
      const parsed = SlotRecord.safeParse(JSON.parse(fs.readFileSync(`${dir}.revision`, "utf8")));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined; // never recorded, or cut short by a crash: the slot is checked out anew
    }
  }
}
