// Serves repositories over git's smart HTTP protocol behind Basic auth, by
// running git's own CGI program per request, so tests clone and fetch
// https-style remotes with credentials across a real transport.
import { execFileSync, spawn } from "node:child_process";
import http from "node:http";
import path from "node:path";
import { freePort } from "./emulator.ts";

/** One request as the server saw it. */
export interface GitHttpRequest {
  method: string;
  /** URL path without the query string. */
  path: string;
  authorized: boolean;
  /** The Basic auth user name, when one was sent. */
  user?: string;
}

/** A running smart HTTP git server. */
export interface GitHttpServer {
  /** Clone URL of a bare repo under the base dir, without credentials. */
  url(repoDirName: string): string;
  port: number;
  /** Every request so far, in arrival order. */
  requests: GitHttpRequest[];
  /** Hold each authorized request this long before answering it. */
  setDelay(ms: number): void;
  stop(): Promise<void>;
}

// Looked up once: `git --exec-path` is where the distribution put the helper.
let backendPath: string | undefined;
function backend(): string {
  backendPath ??= path.join(execFileSync("git", ["--exec-path"], { encoding: "utf8" }).trim(), "git-http-backend");
  return backendPath;
}

// A malformed escape is passed on as is; the backend then answers 404.
function pathInfo(p: string): string {
  try {
    return decodeURIComponent(p);
  } catch {
    return p;
  }
}

/** Serves every bare repo under `baseDir` at http://127.0.0.1:PORT/<name>, requiring Basic auth. */
export async function serveGitHttp(
  baseDir: string,
  opts: { username: string; password: string; delayMs?: number },
): Promise<GitHttpServer> {
  const port = await freePort();
  const requests: GitHttpRequest[] = [];
  let delayMs = opts.delayMs ?? 0;
  let stopped = false;

  // Two ways in: the user and password, or the password (a token) as the user
  // name, which is what git sends for https://TOKEN@host/... whatever password
  // its credential helper then supplies.
  const check = (header: string | undefined): { ok: boolean; user?: string } => {
    const m = /^Basic\s+(\S+)$/i.exec(header ?? "");
    if (!m) return { ok: false };
    const decoded = Buffer.from(m[1], "base64").toString("utf8");
    const i = decoded.indexOf(":");
    const user = i < 0 ? decoded : decoded.slice(0, i);
    const pass = i < 0 ? "" : decoded.slice(i + 1);
    const ok = (user === opts.username && pass === opts.password) || (user !== "" && user === opts.password);
    return { ok, user };
  };

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const auth = check(req.headers.authorization);
    requests.push({ method: req.method ?? "", path: url.pathname, authorized: auth.ok, user: auth.user });
    if (!auth.ok) {
      req.resume();
      res.writeHead(401, { "WWW-Authenticate": 'Basic realm="git"', "Content-Type": "text/plain" });
      res.end("authentication required\n");
      return;
    }
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    if (stopped) return void res.destroy();

    // The CGI contract: request headers become HTTP_* variables. That carries
    // Content-Encoding (git gzips larger fetch negotiations and the backend
    // inflates them itself) and Git-Protocol (protocol v2) through.
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      GIT_PROJECT_ROOT: baseDir,
      GIT_HTTP_EXPORT_ALL: "1",
      GATEWAY_INTERFACE: "CGI/1.1",
      PATH_INFO: pathInfo(url.pathname),
      REQUEST_METHOD: req.method,
      QUERY_STRING: url.search.slice(1),
      REMOTE_USER: auth.user,
      REMOTE_ADDR: req.socket.remoteAddress ?? "127.0.0.1",
    };
    if (req.headers["content-type"]) env.CONTENT_TYPE = req.headers["content-type"];
    if (req.headers["content-length"]) env.CONTENT_LENGTH = req.headers["content-length"];
    for (const [name, value] of Object.entries(req.headers)) {
      if (name === "authorization" || value === undefined) continue;
      env[`HTTP_${name.toUpperCase().replace(/-/g, "_")}`] = Array.isArray(value) ? value.join(", ") : value;
    }

    const cgi = spawn(backend(), [], { env, stdio: ["pipe", "pipe", "pipe"] });
    let stderr = "";
    cgi.stderr.on("data", (d) => (stderr = (stderr + d).slice(-4000)));
    // A backend that stops reading early (an error reply) must not crash us.
    cgi.stdin.on("error", () => {});
    req.pipe(cgi.stdin);

    // The CGI reply is headers, a blank line, then the body to stream through.
    let head = Buffer.alloc(0);
    let headersDone = false;
    cgi.stdout.on("data", (chunk: Buffer) => {
      if (headersDone) return void res.write(chunk);
      head = Buffer.concat([head, chunk]);
      const crlf = head.indexOf("\r\n\r\n");
      const lf = head.indexOf("\n\n");
      const end = crlf >= 0 && (lf < 0 || crlf < lf) ? crlf : lf;
      if (end < 0) return;
      headersDone = true;
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, end).toString("latin1").split(/\r?\n/)) {
        const i = line.indexOf(":");
        if (i < 0) continue;
        const name = line.slice(0, i).trim();
        const value = line.slice(i + 1).trim();
        if (name.toLowerCase() === "status") status = parseInt(value, 10) || 500;
        else headers[name] = value;
      }
      res.writeHead(status, headers);
      res.write(head.subarray(end + (end === crlf ? 4 : 2)));
    });
    // A failed spawn reports both "error" and "close"; whichever comes first answers.
    const fail = (why: string) => {
      if (!res.headersSent) res.writeHead(500, { "Content-Type": "text/plain" });
      res.end(why);
    };
    cgi.on("close", (code) => (headersDone ? res.end() : fail(`git http-backend exited ${code} without a reply: ${stderr}`)));
    cgi.on("error", (err) => fail(`git http-backend failed: ${err.message}`));
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });

  return {
    url: (name) => `http://127.0.0.1:${port}/${name}`,
    port,
    requests,
    setDelay: (ms) => void (delayMs = ms),
    stop: () =>
      new Promise<void>((resolve) => {
        stopped = true;
        // Keep-alive connections from git would otherwise hold close() open.
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
