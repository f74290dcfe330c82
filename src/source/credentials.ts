import fs from "node:fs";
import path from "node:path";
import { StackdError, messageOf } from "../support/index.ts";

/** Where repository credentials come from besides the URL itself. */
export interface RepoCredentialOptions {
  /** An HTTPS token (STACKD_GIT_TOKEN). */
  token?: string;
  /** A file holding the HTTPS token (STACKD_GIT_TOKEN_FILE). */
  tokenFile?: string;
  /** An SSH deploy key (STACKD_SSH_KEY). */
  sshKey?: string;
  /** The known_hosts file SSH host keys are checked against (STACKD_KNOWN_HOSTS; default ~/.ssh/known_hosts). */
  knownHosts?: string;
}

/** A repository address with its credentials taken out. */
export interface RepoAccess {
  /** What git is given: no user information that could be a secret. */
  url: string;
  /** What stackd shows: secrets replaced by ***. */
  display: string;
  /** The secret values, for masking. */
  secrets: string[];
  /** What git's environment needs: a credential helper or an SSH command. */
  env: Record<string, string>;
}

const isUrl = (repo: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(repo);
/** user@host:path, git's scp-like SSH form. */
const isScpLike = (repo: string) => !isUrl(repo) && /^[^/@:]+@[^/:]+:/.test(repo);

/** Single-quoted for the shell git runs GIT_SSH_COMMAND with. */
const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Reads the credential options from stackd's environment variables, with
 * the explicit options taking precedence.
 */
function credentialOptionsFromEnv(o: RepoCredentialOptions = {}, env: NodeJS.ProcessEnv = process.env): RepoCredentialOptions {
  return {
    token: o.token ?? (env.STACKD_GIT_TOKEN || undefined),
    tokenFile: o.tokenFile ?? (env.STACKD_GIT_TOKEN_FILE || undefined),
    sshKey: o.sshKey ?? (env.STACKD_SSH_KEY || undefined),
    knownHosts: o.knownHosts ?? (env.STACKD_KNOWN_HOSTS || undefined),
  };
}

function readToken(o: RepoCredentialOptions): string | undefined {
  if (o.token) return o.token;
  if (!o.tokenFile) return undefined;
  try {
    return fs.readFileSync(o.tokenFile, "utf8").trim() || undefined;
  } catch (err) {
    throw new StackdError(`cannot read the git token file: ${messageOf(err)}`, { kind: "config", where: o.tokenFile });
  }
}

/**
 * A credential helper given to git through its environment
 * (GIT_CONFIG_COUNT): it answers git's `get` with the user name and secret
 * from two variables of git's own environment, for this host only. Nothing
 * is written to a config file and nothing goes on a command line.
 */
function credentialHelperEnv(origin: string, username: string, password: string): Record<string, string> {
  const helper = `!f() { test "$1" = get && printf 'username=%s\\npassword=%s\\n' "$STACKD_GIT_USERNAME" "$STACKD_GIT_PASSWORD"; }; f`;
  return {
    GIT_CONFIG_COUNT: "2",
    // An empty helper first clears any helper the machine configured for this host.
    GIT_CONFIG_KEY_0: `credential.${origin}.helper`,
    GIT_CONFIG_VALUE_0: "",
    GIT_CONFIG_KEY_1: `credential.${origin}.helper`,
    GIT_CONFIG_VALUE_1: helper,
    STACKD_GIT_USERNAME: username,
    STACKD_GIT_PASSWORD: password,
  };
}

function sshEnv(o: RepoCredentialOptions): Record<string, string> {
  // Host keys are always checked: an unknown host fails instead of being trusted on first use.
  const args = ["ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes"];
  if (o.knownHosts) {
    if (!fs.existsSync(o.knownHosts)) throw new StackdError("the known_hosts file does not exist", { kind: "config", where: o.knownHosts });
    args.push("-o", `UserKnownHostsFile=${path.resolve(o.knownHosts)}`);
  }
  if (o.sshKey) {
    let mode: number;
    try {
      mode = fs.statSync(o.sshKey).mode;
    } catch (err) {
      throw new StackdError(`cannot read the SSH key: ${messageOf(err)}`, { kind: "config", where: o.sshKey });
    }
    if (mode & 0o077) throw new StackdError("the SSH key is readable by others (ssh refuses it): chmod 600 it", { kind: "config", where: o.sshKey });
    args.push("-i", path.resolve(o.sshKey), "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none");
  }
  return { GIT_SSH_COMMAND: args.map(shellQuote).join(" ") };
}

/**
 * Splits a repository address into what git is given, what is shown, and
 * the credentials, which reach git only through its environment. A token in
 * the URL (`https://user:TOKEN@host/...`, or `https://TOKEN@host/...`, the
 * token as the user name) is taken out of it.
 */
export function repoAccess(repo: string, options: RepoCredentialOptions = {}): RepoAccess {
  const o = credentialOptionsFromEnv(options);
  if (isScpLike(repo) || /^ssh:\/\//i.test(repo) || /^git\+ssh:\/\//i.test(repo)) {
    return { url: repo, display: repo, secrets: [], env: sshEnv(o) };
  }
  if (!isUrl(repo) || !/^https?:/i.test(repo)) return { url: repo, display: repo, secrets: [], env: {} };
  const u = new URL(repo);
  const user = decodeURIComponent(u.username);
  const password = decodeURIComponent(u.password);
  const token = readToken(o);
  u.username = "";
  u.password = "";
  const url = u.toString();
  let credentials: { username: string; password: string; secrets: string[] } | undefined;
  if (user && password) credentials = { username: user, password, secrets: [password] };
  else if (user && token) credentials = { username: user, password: token, secrets: [token] };
  // A user name alone is a token (GitHub and git accept `https://TOKEN@host/...`).
  else if (user) credentials = { username: user, password: "x-oauth-basic", secrets: [user] };
  else if (token) credentials = { username: "x-access-token", password: token, secrets: [token] };
  if (!credentials) return { url, display: url, secrets: [], env: {} };
  return {
    url,
    display: `${u.protocol}//***@${u.host}${u.pathname}${u.search}`,
    secrets: credentials.secrets,
    env: credentialHelperEnv(`${u.protocol}//${u.host}`, credentials.username, credentials.password),
  };
}

/** Any address with its user information replaced by ***, for messages about addresses stackd did not parse. */
export function redactUrl(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/gi, "$1***@");
}
