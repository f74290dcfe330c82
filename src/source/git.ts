import fs from "node:fs";
import path from "node:path";
import { simpleGit, type SimpleGit } from "simple-git";
import { StackdError, messageOf, registerSecret, shortHash } from "../support/index.ts";
import { redactUrl, repoAccess, type RepoCredentialOptions } from "./credentials.ts";
import { RunCheckouts, type RunCheckout } from "./run-checkouts.ts";

/** A repository address as the user wrote it: a URL or a local path. */
function normalizeRepo(repo: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(repo) || /^[^/]+@[^:]+:/.test(repo)) return repo;
  return path.resolve(repo);
}

function firstLine(text: string): string {
  const lines = text.split("\n").map((l) => l.replace(/^(fatal|error): /, "").trim()).filter(Boolean);
  return redactUrl(lines.find((l) => !l.startsWith("Cloning into")) ?? lines[0] ?? "unknown git error");
}

/** Programs git would start for a person at a terminal; a service has none (npm sets EDITOR, for one). */
const INTERACTIVE = /^(editor|visual|pager|git_editor|git_pager|git_sequence_editor|git_askpass|ssh_askpass|git_external_diff)$/i;

/**
 * simple-git strips GIT_* variables from git's environment unless they are
 * named, and refuses credential helpers and SSH commands unless allowed:
 * stackd's own variables and the operator's (GIT_SSL_CAINFO, say) are meant.
 */
function gitEnvironment(own: Record<string, string>): { env: Record<string, string>; allow: string[] } {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !INTERACTIVE.test(k)) env[k] = v;
  // A service has nobody to type a password: fail instead of waiting for one.
  Object.assign(env, own, { GIT_TERMINAL_PROMPT: "0" });
  return { env, allow: Object.keys(env).filter((k) => /^(git_|prefix$)/i.test(k)) };
}

/**
 * The one wrapper around git. Keeps a bare mirror of the watched repository
 * in the data dir and checks revisions out as detached worktrees beside it,
 * one per revision, so runs of different revisions never share files.
 */
export class GitSource {
  /** The repository as shown anywhere: credentials replaced by ***. */
  readonly repo: string;
  /** The repository as git is given it: no credentials. */
  private readonly url: string;
  private readonly env: { env: Record<string, string>; allow: string[] };
  private originChecked = false;
  private readonly mirror: string;
  private readonly worktrees: string;
  private readonly slots: RunCheckouts;
  /** git refuses concurrent ref and worktree updates in one repository: those calls take turns. */
  private turn: Promise<unknown> = Promise.resolve();

  constructor(repo: string, dataDir: string, credentials: RepoCredentialOptions = {}) {
    const access = repoAccess(normalizeRepo(repo), credentials);
    // A token in the URL or the environment is a secret like any other.
    for (const s of access.secrets) registerSecret(s);
    this.repo = access.display;
    this.url = access.url;
    this.env = gitEnvironment(access.env);
    const key = shortHash(this.url);
    this.mirror = path.join(dataDir, "repos", `${key}.git`);
    this.worktrees = path.join(dataDir, "worktrees", key);
    this.slots = new RunCheckouts(path.join(dataDir, "checkouts", key), {
      add: async (dir, revision) => void (await this.exclusive(() => this.addWorktree(revision, dir))),
      switchTo: (dir, revision) =>
        this.exclusive(async () => {
          await this.git(dir).raw(["checkout", "--detach", "--force", "--quiet", revision]);
          await this.git(dir).raw(["clean", "-ffdxq"]);
        }),
    });
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.turn.then(fn, fn);
    this.turn = next.catch(() => {});
    return next;
  }

  private git(dir?: string): SimpleGit {
    return simpleGit({
      baseDir: dir ?? this.mirror,
      timeout: { block: 120_000 },
      allowEnvironment: this.env.allow,
      // The operator's own settings (GIT_CONFIG_GLOBAL, GIT_PROXY_COMMAND, ...) are trusted like stackd's.
      unsafe: {
        allowUnsafeConfigEnvCount: true,
        allowUnsafeCredentialHelper: true,
        allowUnsafeSshCommand: true,
        allowUnsafeConfigPaths: true,
        allowUnsafeExec: true,
        allowUnsafeGitProxy: true,
        allowUnsafeTemplateDir: true,
      },
    }).env(this.env.env);
  }

  /** Brings the mirror up to date with the remote, cloning it the first time. */
  fetch(): Promise<void> {
    return this.exclusive(() => this.fetchNow());
  }

  private async fetchNow(): Promise<void> {
    try {
      if (fs.existsSync(path.join(this.mirror, "HEAD"))) {
        // A mirror an older stackd cloned may hold a token in its config: the address is set anew.
        if (!this.originChecked) await this.git().raw(["remote", "set-url", "origin", this.url]);
        this.originChecked = true;
        await this.git().fetch(["--prune", "origin"]);
      } else {
        fs.mkdirSync(path.dirname(this.mirror), { recursive: true });
        fs.rmSync(this.mirror, { recursive: true, force: true });
        await this.git(path.dirname(this.mirror)).clone(this.url, this.mirror, ["--mirror", "--quiet"]);
        this.originChecked = true;
      }
    } catch (err) {
      throw new StackdError(`cannot fetch: ${firstLine(messageOf(err))}; check the URL or path and that it is reachable`, {
        where: `repository ${this.repo}`,
        cause: err,
      });
    }
  }

  /** The commit a branch points at in the mirror; the remote's default branch when none is named. */
  async head(branch?: string): Promise<{ branch: string; revision: string }> {
    const git = this.git();
    const name = branch ?? (await git.raw(["symbolic-ref", "--short", "HEAD"])).trim();
    try {
      const revision = (await git.raw(["rev-parse", "--verify", `refs/heads/${name}^{commit}`])).trim();
      return { branch: name, revision };
    } catch {
      throw new StackdError(`branch "${name}" does not exist`, { kind: "config", where: `repository ${this.repo}` });
    }
  }

  /** Resolves any ref the mirror knows (branch, tag, sha) to a commit. */
  async resolve(ref: string): Promise<string> {
    try {
      return (await this.git().raw(["rev-parse", "--verify", `${ref}^{commit}`])).trim();
    } catch {
      throw new StackdError(`ref "${ref}" not found`, { kind: "config", where: `repository ${this.repo}` });
    }
  }

  /** The branch head on the remote, without fetching objects: the cheap poll. */
  async remoteHead(branch: string): Promise<string | undefined> {
    try {
      const out = await this.git().raw(["ls-remote", "origin", `refs/heads/${branch}`]);
      return out.split(/\s+/)[0] || undefined;
    } catch (err) {
      throw new StackdError(`cannot reach: ${firstLine(messageOf(err))}`, { where: `repository ${this.repo}`, cause: err });
    }
  }

  /** A detached worktree at `revision`, created on first use. */
  checkout(revision: string): Promise<string> {
    const dir = path.join(this.worktrees, revision);
    if (fs.existsSync(path.join(dir, ".git"))) return Promise.resolve(dir);
    return this.exclusive(() => this.addWorktree(revision, dir));
  }

  /**
   * A checkout of `revision` for a run, in one of a few directories reused
   * from run to run (see run-checkouts.ts); released when the run ends.
   */
  lease(revision: string): Promise<RunCheckout> {
    return this.slots.lease(revision);
  }

  private async addWorktree(revision: string, dir: string): Promise<string> {
    if (fs.existsSync(path.join(dir, ".git"))) return dir;
    fs.mkdirSync(this.worktrees, { recursive: true });
    const git = this.git();
    await git.raw(["worktree", "prune"]);
    fs.rmSync(dir, { recursive: true, force: true });
    await git.raw(["worktree", "add", "--detach", "--quiet", dir, revision]);
    return dir;
  }

  /**
   * Removes the worktrees of revisions nothing needs: every revision in
   * `keep` stays, and so do the `recent` most recently made ones (a run
   * about to start may still want them). Returns the revisions removed.
   */
  pruneWorktrees(keep: Set<string>, recent = 5): Promise<string[]> {
    return this.exclusive(async () => {
      if (!fs.existsSync(this.worktrees)) return [];
      const all = fs
        .readdirSync(this.worktrees)
        .map((rev) => ({ rev, at: fs.statSync(path.join(this.worktrees, rev)).mtimeMs }))
        .sort((a, b) => b.at - a.at);
      const doomed = all.slice(recent).filter((w) => !keep.has(w.rev));
      for (const w of doomed) fs.rmSync(path.join(this.worktrees, w.rev), { recursive: true, force: true });
      if (doomed.length > 0) await this.git().raw(["worktree", "prune"]);
      return doomed.map((w) => w.rev);
    });
  }

  /** The best common ancestor of two commits: where a branch left its base. */
  async mergeBase(a: string, b: string): Promise<string> {
    try {
      return (await this.git().raw(["merge-base", a, b])).trim();
    } catch {
      throw new StackdError(`${a.slice(0, 12)} and ${b.slice(0, 12)} have no common history`, { kind: "config", where: `repository ${this.repo}` });
    }
  }

  /** Commits after `from` up to and including `to`, oldest first (at most `limit`, the newest kept). */
  async commitsBetween(from: string, to: string, limit = 50): Promise<string[]> {
    const out = await this.git().raw(["rev-list", "--reverse", `--max-count=${limit}`, `${from}..${to}`]);
    return out.split("\n").filter(Boolean);
  }

  /** Paths that differ between two commits (renames count on both sides). */
  async changedPaths(from: string, to: string): Promise<string[]> {
    const out = await this.git().raw(["diff", "--name-only", "--no-renames", from, to]);
    return out.split("\n").filter(Boolean);
  }
}
