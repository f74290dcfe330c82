// Runs OpenSSH's server on loopback with a throwaway config, host key and
// authorized key, so tests clone and fetch ssh:// remotes with a deploy key and
// real host key checking.
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { freePort } from "./emulator.ts";

// sshd re-executes itself per connection, so it must be started by absolute path.
const SSHD = "/usr/sbin/sshd";

/** A running sshd that lets one public key in as the current user. */
export interface Sshd {
  port: number;
  /** The user to log in as: the one running the tests. */
  user: string;
  /** The server's public host key, as ssh-keygen wrote it. */
  hostKeyPub: string;
  /** A known_hosts line for this server: "[127.0.0.1]:PORT ssh-ed25519 AAAA...". */
  knownHostsLine: string;
  /** ssh:// URL of the repo at an absolute path on this machine. */
  url(absPathToBareRepo: string): string;
  stop(): Promise<void>;
}

/** Generates a passphrase-less ed25519 key pair in `dir`; the private key is mode 0600. */
export function makeDeployKey(dir: string): { privateKeyPath: string; publicKey: string } {
  fs.mkdirSync(dir, { recursive: true });
  const privateKeyPath = path.join(dir, "id_ed25519");
  generateKey(privateKeyPath, "stackd-test-deploy-key");
  // ssh refuses a private key others can read; ssh-keygen already writes 0600, but a umask or copy must not matter.
  fs.chmodSync(privateKeyPath, 0o600);
  return { privateKeyPath, publicKey: fs.readFileSync(`${privateKeyPath}.pub`, "utf8").trim() };
}

// ssh-keygen asks before overwriting, so an old pair is removed first.
function generateKey(file: string, comment: string): void {
  fs.rmSync(file, { force: true });
  fs.rmSync(`${file}.pub`, { force: true });
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file], { stdio: "ignore" });
}

/** Starts sshd on 127.0.0.1 and a free port, accepting only `opts.authorizedKey`. */
export async function startSshd(opts: { authorizedKey: string }): Promise<Sshd> {
  if (!fs.existsSync(SSHD)) throw new Error(`${SSHD} is missing: scripts/setup.sh installs openssh-server`);
  // The privilege separation directory; the package normally makes it at boot.
  fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stackd-sshd-"));
  const hostKey = path.join(dir, "ssh_host_ed25519_key");
  generateKey(hostKey, "stackd-test-host");
  const hostKeyPub = fs.readFileSync(`${hostKey}.pub`, "utf8").trim();
  const authorizedKeys = path.join(dir, "authorized_keys");
  fs.writeFileSync(authorizedKeys, `${opts.authorizedKey.trim()}\n`, { mode: 0o600 });

  const port = await freePort();
  const config = path.join(dir, "sshd_config");
  // No Include of /etc/ssh/sshd_config.d: nothing of the machine's setup applies.
  // StrictModes is off because the temp dir's permissions are not ours to vouch for;
  // PAM is off so no login session machinery is involved.
  fs.writeFileSync(
    config,
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${authorizedKeys}`,
      `PidFile ${path.join(dir, "sshd.pid")}`,
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PubkeyAuthentication yes",
      "PermitRootLogin prohibit-password",
      "StrictModes no",
      "UsePAM no",
      "",
    ].join("\n"),
  );

  const proc = spawn(SSHD, ["-D", "-e", "-f", config], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  proc.stderr?.on("data", (d) => (stderr = (stderr + d).slice(-4000)));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (proc.exitCode !== null) {
      fs.rmSync(dir, { recursive: true, force: true });
      throw new Error(`sshd exited: ${stderr}`);
    }
    const open = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, "127.0.0.1", () => (s.end(), resolve(true)));
      s.on("error", () => resolve(false));
    });
    if (open) break;
    if (Date.now() > deadline) {
      proc.kill("SIGTERM");
      fs.rmSync(dir, { recursive: true, force: true });
      throw new Error(`sshd did not start on port ${port}: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  const user = os.userInfo().username;
  const [keyType, keyData] = hostKeyPub.split(/\s+/);
  return {
    port,
    user,
    hostKeyPub,
    knownHostsLine: `[127.0.0.1]:${port} ${keyType} ${keyData}`,
    url: (absPath) => `ssh://${user}@127.0.0.1:${port}${absPath.startsWith("/") ? "" : "/"}${absPath}`,
    stop: () =>
      new Promise<void>((resolve) => {
        const done = () => (fs.rmSync(dir, { recursive: true, force: true }), resolve());
        if (proc.exitCode !== null || proc.signalCode !== null) return done();
        proc.once("exit", done);
        proc.kill("SIGTERM");
      }),
  };
}
