// A throwaway PostgreSQL cluster for the tests: Debian's server binaries,
// initdb in a temp dir as the `postgres` user (initdb refuses root), on a
// free loopback port, stopped and removed after.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort } from "./emulator.ts";

/** Where Debian's postgresql package puts the server: the newest major version installed. */
const BIN = (() => {
  const root = "/usr/lib/postgresql";
  const versions = fs.existsSync(root) ? fs.readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  return path.join(root, versions[0] ?? "15", "bin");
})();

/** A running cluster: a URL per database, and the way to stop it. */
export interface Postgres {
  port: number;
  /** A connection URL for `database` (created on first use by createDatabase). */
  url(database?: string): string;
  createDatabase(name: string): string;
  stop(): Promise<void>;
}

/** Runs a command as the postgres user when this process is root, else as itself. */
function asPostgres(cmd: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ["runuser", ["-u", "postgres", "--", cmd, ...args]] : [cmd, args];
}

/** Starts a new cluster; throws with what to install when the server is missing. */
export async function startPostgres(): Promise<Postgres> {
  if (!fs.existsSync(path.join(BIN, "postgres"))) throw new Error(`${BIN}/postgres is missing: \`npm run setup\` installs Debian's postgresql (as root)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stackd-pg-"));
  fs.chmodSync(dir, 0o777);
  const data = path.join(dir, "data");
  if (process.getuid?.() === 0) execFileSync("chown", ["postgres", dir]);
  execFileSync(...asPostgres(path.join(BIN, "initdb"), ["-D", data, "-U", "stackd", "--auth=trust", "-E", "UTF8", "--no-sync"]), { stdio: "ignore" });
  const port = await freePort();
  const server: ChildProcess = spawn(
    ...asPostgres(path.join(BIN, "postgres"), ["-D", data, "-p", String(port), "-c", "listen_addresses=127.0.0.1", "-c", `unix_socket_directories=${dir}`, "-c", "fsync=off"]),
    { stdio: "ignore" },
  );
  const exited = new Promise<void>((resolve) => server.once("exit", () => resolve()));
  const url = (database = "postgres") => `postgres://stackd@127.0.0.1:${port}/${database}`;
  for (let i = 0; ; i++) {
    try {
      execFileSync(path.join(BIN, "pg_isready"), ["-h", "127.0.0.1", "-p", String(port)], { stdio: "ignore" });
      break;
    } catch {
      if (i > 100) throw new Error("postgres did not start within 10 s");
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    port,
    url,
    createDatabase(name) {
      execFileSync(path.join(BIN, "createdb"), ["-h", "127.0.0.1", "-p", String(port), "-U", "stackd", name]);
      return url(name);
    },
    async stop() {
      // A fast shutdown through pg_ctl: a signal to runuser would not reach the server.
      execFileSync(...asPostgres(path.join(BIN, "pg_ctl"), ["stop", "-D", data, "-m", "fast", "-s"]), { stdio: "ignore" });
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
