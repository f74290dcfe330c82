// Secure by default, tried the way it happens in life: a real `stackd serve`
// fetching over smart HTTP with a token and over SSH with a deploy key, every
// route called with every role, canaries looked for on every surface (API,
// logs, data dir files, git config, `ps` while git runs), replayed webhooks,
// a burst of bad tokens, and HTTPS served directly.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import type http from "node:http";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TokenRegistry, tokenHash } from "../src/access/index.ts";
import { Controller } from "../src/reconciler/index.ts";
import { buildServer, githubSignature } from "../src/server/index.ts";
import { GitSource } from "../src/source/index.ts";
import { runStackd, spawnServe, type ServeProcess } from "./testkit/cli.ts";
import { freePort, startEmulator, type Emulator } from "./testkit/emulator.ts";
import { serveGitHttp, type GitHttpServer } from "./testkit/git-http.ts";
import { createSampleRepo, type SampleRepo } from "./testkit/sample-repo.ts";
import { ADMIN_TOKEN, WEBHOOK_SECRET, servedSampleRepo, startService, waitFor, type TestService } from "./testkit/service.ts";
import { makeDeployKey, startSshd, type Sshd } from "./testkit/sshd.ts";

const CANARY_TOKEN = "ghs_CanaryRepoToken4c1fd2e8b7";
// Every stack waits for approval: the tests look at access, not at applies.
const STACKD_YAML = `stacks:\n  "*/*":\n    apply: manual\n`;

let emu: Emulator;
let tmp: string;
let repo: SampleRepo;
let bare: string;
let gitHttp: GitHttpServer;
let leakProbes = 0;

/** Asserts a surface does not hold a secret, and counts the probe. */
function noLeak(surface: string, text: string, secrets: string[]): void {
  for (const s of secrets) {
    leakProbes++;
    expect(text.includes(s), `${surface} holds a secret`).toBe(false);
  }
}

/** Every file and directory under a directory with its mode (links not followed; what vanishes meanwhile is skipped). */
function filesUnder(dir: string): { path: string; mode: number; file: boolean }[] {
  const out: { path: string; mode: number; file: boolean }[] = [];
  let entries: fs.Dirent[] = [];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (!e.isDirectory() && !e.isFile()) continue;
    try {
      out.push({ path: p, mode: fs.lstatSync(p).mode, file: e.isFile() });
    } catch {
      continue;
    }
    if (e.isDirectory()) out.push(...filesUnder(p));
  }
  return out;
}

/** A file's bytes as text, or "" when it went away meanwhile. */
const readIfThere = (f: string) => {
  try {
    return fs.readFileSync(f, "latin1");
  } catch {
    return "";
  }
};

/** No file of a data dir holds a secret, and none is open to group or others. */
function probeDataDir(dataDir: string, secrets: string[]): number {
  expect((fs.statSync(dataDir).mode & 0o777).toString(8)).toBe("700");
  const entries = filesUnder(dataDir);
  expect(entries.filter((e) => e.mode & 0o077).map((e) => path.relative(dataDir, e.path))).toEqual([]);
  for (const e of entries) if (e.file) noLeak(e.path, readIfThere(e.path), secrets);
  return entries.length;
}

/** Command lines of every process while `during` runs, sampled every 20 ms. */
async function commandLinesDuring(ms: number): Promise<string[]> {
  const seen = new Set<string>();
  const end = Date.now() + ms;
  while (Date.now() < end) {
    for (const line of execFileSync("ps", ["-eo", "args="], { encoding: "utf8" }).split("\n")) if (line.includes("git")) seen.add(line.trim());
    await new Promise((r) => setTimeout(r, 20));
  }
  return [...seen];
}

/**
 * The server `serve` builds, on a controller that is never started, in this
 * process: for what only its options decide (routes, limits). Listening on a
 * loopback port; `close` ends both.
 */
async function scratchServer(opts: Omit<Parameters<typeof buildServer>[0], "controller">) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "stackd-scratch-server-"));
  const controller = new Controller({ repo: repo.dir, dataDir, logger: { info() {}, warn() {}, error() {} } });
  const app = await buildServer({ controller, ...opts });
  const url = await app.listen({ port: 0, host: "127.0.0.1" });
  return {
    app,
    url,
    async close() {
      await app.close();
      controller.ledger.close();
    },
  };
}

async function get(url: string, token?: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, body: await res.text() };
}

/** A request over HTTPS trusting one CA (fetch cannot be given one). */
function httpsRequest(url: string, ca: Buffer, o: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { ca, method: o.method ?? "GET", headers: o.headers ?? {} }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on("error", reject);
    req.end(o.body);
  });
}

/** A GET over HTTPS trusting one CA, with a bearer token when given. */
const httpsGet = (url: string, ca: Buffer, token?: string) => httpsRequest(url, ca, { headers: token ? { authorization: `Bearer ${token}` } : {} });

beforeAll(async () => {
  emu = await startEmulator();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "stackd-security-"));
  repo = createSampleRepo(tmp);
  repo.commit({ "stackd.yaml": STACKD_YAML }, "every stack waits for approval");
  const served = path.join(tmp, "served");
  fs.mkdirSync(served);
  bare = path.join(served, "infra.git");
  repo.git("clone", "-q", "--bare", repo.dir, bare);
  gitHttp = await serveGitHttp(served, { username: "x-access-token", password: CANARY_TOKEN });
});

afterAll(async () => {
  console.log(`leak probes run: ${leakProbes}`);
  await gitHttp?.stop();
  await emu?.stop();
});

describe("stackd token create", () => {
  it("prints a token once and keeps only its sha256, in a 0600 file", async () => {
    const file = path.join(tmp, "fresh tokens.yaml");
    const res = await runStackd(["token", "create", "ci-bot", "--role", "operate", "--tokens", file]);
    expect(res.code, res.stderr).toBe(0);
    const token = res.stdout.trim();
    expect(token).toMatch(/^stackd_[A-Za-z0-9_-]{43}$/);
    const text = fs.readFileSync(file, "utf8");
    expect(text).toContain(tokenHash(token));
    expect(text).not.toContain(token);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(res.stderr).toContain(`token "ci-bot" (operate) added to ${file}`);
    const again = await runStackd(["token", "create", "ci-bot", "--role", "read", "--tokens", file]);
    expect([again.code, again.stderr.trim()]).toEqual([1, `stackd: error: ${file}: a token named "ci-bot" already exists`]);
    const badRole = await runStackd(["token", "create", "x", "--role", "root", "--tokens", file]);
    expect([badRole.code, badRole.stderr.trim()]).toEqual([2, 'stackd: error: --role: "root" is not a role: one of read, operate, admin']);
  });
});

describe("a service on a repository with a token in its URL", () => {
  let svc: ServeProcess;
  let url: string;
  let dataDir: string;
  const tokens: Record<"reader" | "deployer" | "owner", string> = { reader: "", deployer: "", owner: "" };

  beforeAll(async () => {
    const file = path.join(tmp, "api tokens.yaml");
    for (const [name, role] of [["reader", "read"], ["deployer", "operate"], ["owner", "admin"]] as const) {
      tokens[name] = (await runStackd(["token", "create", name, "--role", role, "--tokens", file])).stdout.trim();
    }
    // A user-named data dir, with a space in it.
    dataDir = path.join(tmp, "my stackd data");
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    // In the environment, not on the command line: `ps` shows stackd's own arguments too.
    const repoUrl = `http://x-access-token:${CANARY_TOKEN}@127.0.0.1:${gitHttp.port}/infra.git`;
    svc = spawnServe(
      ["--data-dir", dataDir, "--port", String(port), "--poll-interval", "1", "--tokens", file, "--auth-failure-limit", "100000", "--grace", "5"],
      { ...emu.env, STACKD_WEBHOOK_SECRET: WEBHOOK_SECRET, STACKD_REPO: repoUrl },
    );
    await waitFor("the service to fetch the repository", async () => (await get(`${url}/readyz`).catch(() => undefined))?.body === "ready", 60_000);
  });

  afterAll(async () => {
    await svc?.stop();
  });

  it("answers every route for each role exactly as the table says", async () => {
    // The routes as the server registers them, from the same code serve runs:
    // a new route missing from this table fails here.
    const scratch = await scratchServer({ tokens: new TokenRegistry({}) });
    const registered = scratch.app.routeAccess.map((r) => `${r.access.padEnd(7)} ${r.method} ${r.url}`).sort();
    await scratch.close();
    // Who may call each route, and what a caller who may gets (with the
    // parameters below: no preview exists, :id is a preview awaiting approval (nothing
    // to cancel), run_none is no run, nothing was ever applied).
    const TABLE: Record<string, [access: "public" | "read" | "operate" | "admin", allowed: number]> = {
      "GET /healthz": ["public", 200],
      "GET /readyz": ["public", 200],
      "POST /webhooks/github": ["public", 401],
      "POST /webhooks/git": ["public", 401],
      "GET /metrics": ["read", 200],
      "GET /api/stacks": ["read", 200],
      "GET /api/stacks/:name": ["read", 200],
      "GET /api/stacks/:project/:stack": ["read", 200],
      "GET /api/stacks/:name/drift": ["read", 200],
      "GET /api/stacks/:project/:stack/drift": ["read", 200],
      "GET /api/drift": ["read", 200],
      "GET /api/replicas": ["read", 200],
      "GET /api/graph": ["read", 200],
      "GET /api/previews": ["read", 200],
      "GET /api/previews/:id": ["read", 404],
      "GET /api/runs": ["read", 200],
      "GET /api/runs/:id": ["read", 200],
      "POST /api/stacks/:name/reconcile": ["operate", 202],
      "POST /api/stacks/:project/:stack/reconcile": ["operate", 202],
      "POST /api/stacks/:name/drift": ["operate", 409],
      "POST /api/stacks/:project/:stack/drift": ["operate", 409],
      "POST /api/runs/:id/cancel": ["operate", 409],
      "POST /api/gc": ["admin", 200],
      "POST /api/approvals/:runId": ["admin", 404],
      "POST /api/approvals/:runId/reject": ["admin", 404],
      // Without a body a rollback names the missing revision; the stack is not pinned.
      "POST /api/stacks/:name/rollback": ["admin", 400],
      "POST /api/stacks/:project/:stack/rollback": ["admin", 400],
      "POST /api/stacks/:name/unpin": ["admin", 409],
      "POST /api/stacks/:project/:stack/unpin": ["admin", 409],
      // The dashboard: pages and their buttons answer with pages and redirects.
      "GET /assets/:name": ["public", 404],
      "GET /sign-in": ["public", 200],
      "POST /ui/session": ["public", 400],
      "GET /": ["read", 200],
      "GET /stacks/:project/:stack": ["read", 200],
      "GET /runs/:id": ["read", 200],
      "GET /previews": ["read", 200],
      "GET /previews/:id": ["read", 404],
      "GET /ui/events": ["read", 200],
      "GET /ui/runs/:id/log": ["read", 200],
      "POST /ui/sign-out": ["read", 303],
      "POST /ui/stacks/:project/:stack/reconcile": ["operate", 303],
      "POST /ui/stacks/:project/:stack/drift": ["operate", 409],
      "POST /ui/runs/:id/cancel": ["operate", 409],
      "POST /ui/approvals/:runId": ["admin", 404],
      "POST /ui/approvals/:runId/reject": ["admin", 404],
    };
    // Pages send a browser without a token to sign in instead of answering 401.
    const PAGES = new Set(["GET /", "GET /stacks/:project/:stack", "GET /runs/:id", "GET /previews", "GET /previews/:id"]);
    expect(registered).toEqual(Object.entries(TABLE).map(([route, [access]]) => `${access.padEnd(7)} ${route}`).sort());

    const awaiting = async () => (JSON.parse((await get(`${url}/api/runs?status=awaiting_approval`, tokens.owner)).body) as { runs: { id: string }[] }).runs[0]?.id;
    const runId = await waitFor("a preview awaiting approval", awaiting);
    // :id names that run (no preview has its id); :runId no run at all.
    const params: Record<string, string> = { name: "dev", project: "sample-infra", stack: "dev", id: runId, runId: "run_none" };
    const callers = [
      { who: "no token", token: undefined, rank: -1 },
      { who: "a wrong token", token: "stackd_not-a-token", rank: -1 },
      { who: "reader", token: tokens.reader, rank: 0 },
      { who: "deployer", token: tokens.deployer, rank: 1 },
      { who: "owner", token: tokens.owner, rank: 2 },
    ];
    const RANK = { public: -1, read: 0, operate: 1, admin: 2 } as const;
    let calls = 0;
    for (const [route, [access, allowed]] of Object.entries(TABLE)) {
      if (access === "public") {
        const res = await fetch(`${url}${route.split(" ")[1]}`, { method: route.split(" ")[0] });
        expect(res.status, `${route} without a token`).toBe(allowed);
        continue;
      }
      const [method, pattern] = route.split(" ") as [string, string];
      const target = pattern.replace(/:(\w+)/g, (_, p: string) => params[p]!);
      for (const c of callers) {
        const stream = new AbortController();
        const res = await fetch(`${url}${target}`, { method, headers: c.token ? { authorization: `Bearer ${c.token}` } : {}, redirect: "manual", signal: stream.signal });
        // The live feed never ends on its own: its headers are the answer.
        const body = res.headers.get("content-type")?.startsWith("text/event-stream") && route === "GET /ui/events" ? (stream.abort(), "") : await res.text();
        calls++;
        const expected = c.rank < 0 ? (PAGES.has(route) && !c.token ? 303 : 401) : c.rank < RANK[access] ? 403 : allowed;
        expect(res.status, `${route} by ${c.who}: ${body}`).toBe(expected);
        if (method === "POST" && route.endsWith("/reconcile") && expected === 202) {
          // Mutating calls record the token's name on the run.
          expect((JSON.parse(body) as { requestedBy: string }).requestedBy).toBe(c.who);
        }
      }
    }
    // Unknown paths under /api tell strangers nothing.
    expect((await get(`${url}/api/nothing-here`)).status).toBe(401);
    expect((await get(`${url}/api/nothing-here`, tokens.reader)).status).toBe(404);
    console.log(`role table: ${Object.keys(TABLE).length} routes, ${calls} authenticated calls`);

    // A token added while the service runs works at once: the file is read again when it changes.
    const late = (await runStackd(["token", "create", "late-reader", "--role", "read", "--tokens", path.join(tmp, "api tokens.yaml")])).stdout.trim();
    expect((await get(`${url}/api/stacks`, late)).status).toBe(200);
  });

  it("keeps the token out of the API, logs, data dir, git config and ps, while git uses it", async () => {
    // Slow answers keep each fetch (one per second) running long enough to be seen.
    gitHttp.setDelay(700);
    const lines = await commandLinesDuring(5_000);
    gitHttp.setDelay(0);
    const gitToServer = lines.filter((l) => l.includes(`127.0.0.1:${gitHttp.port}/infra.git`));
    expect(gitToServer.length, lines.join("\n")).toBeGreaterThan(0);
    noLeak("ps", lines.join("\n"), [CANARY_TOKEN]);
    expect(gitHttp.requests.some((r) => r.authorized && r.user === "x-access-token")).toBe(true);

    const stacks = JSON.parse((await get(`${url}/api/stacks`, tokens.owner)).body) as { repo: string; stacks: { name: string }[] };
    expect(stacks.repo).toBe(`http://***@127.0.0.1:${gitHttp.port}/infra.git`);
    const runs = JSON.parse((await get(`${url}/api/runs?limit=100`, tokens.owner)).body) as { runs: { id: string }[] };
    const reads = ["/api/stacks", "/api/drift", "/api/previews", "/api/runs?limit=100", "/metrics", "/readyz", "/healthz"];
    for (const s of stacks.stacks) reads.push(`/api/stacks/${s.name}`, `/api/stacks/${s.name}/drift`);
    for (const r of runs.runs) reads.push(`/api/runs/${r.id}`);
    for (const route of reads) noLeak(`GET ${route}`, (await get(`${url}${route}`, tokens.owner)).body, [CANARY_TOKEN]);
    expect((await get(`${url}/readyz`)).body).toBe("ready");
    // The CLI calls the service with STACKD_API_TOKEN, and says what to do without one.
    const cli = await runStackd(["runs", "--api", url, "--data-dir", dataDir, "--format", "json"], { STACKD_API_TOKEN: tokens.reader });
    expect(cli.code, cli.stderr).toBe(0);
    const denied = await runStackd(["runs", "--api", url, "--data-dir", dataDir], { STACKD_API_TOKEN: "" });
    expect([denied.code, denied.stderr.trim()]).toEqual([1, `stackd: error: ${url}: a bearer token is required: Authorization: Bearer <token>; set STACKD_API_TOKEN to a token with the role this needs`]);

    noLeak("the service's log", svc.output(), [CANARY_TOKEN]);
    expect(svc.output()).toContain(`"repo":"http://***@127.0.0.1:${gitHttp.port}/infra.git"`);
    const mirror = filesUnder(path.join(dataDir, "repos")).find((e) => e.path.endsWith(`.git${path.sep}config`))!.path;
    expect(execFileSync("git", ["config", "-f", mirror, "remote.origin.url"], { encoding: "utf8" }).trim()).toBe(`http://127.0.0.1:${gitHttp.port}/infra.git`);
    const files = probeDataDir(dataDir, [CANARY_TOKEN]);
    console.log(`token canary: ${gitToServer.length} git command lines seen while fetching, ${files} data dir files read, ${reads.length} API reads`);
  });

  it("a burst of wrong tokens from one address gets 429, then even a good token waits", async () => {
    // This service allows 100000 failures a minute; the burst test uses a server with the default of 20.
    const server = await scratchServer({ tokens: new TokenRegistry({ held: [{ name: "owner", role: "admin", token: ADMIN_TOKEN }] }) });
    const burst = server.url;
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 21; i++) statuses.push((await get(`${burst}/api/stacks`, `stackd_guess-${i}`)).status);
      expect(statuses).toEqual([...Array(20).fill(401), 429]);
      const res = await fetch(`${burst}/api/stacks`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect(res.status).toBe(429);
      expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(50);
      // Probes stay open: an orchestrator must still see the process up.
      expect((await get(`${burst}/healthz`)).body).toBe("up");
    } finally {
      await server.close();
    }
  });

  it("the dashboard's sign-in: a session cookie, never the token; failures count toward the limit; a removed token's session ends", async () => {
    const file = path.join(tmp, "session tokens.yaml");
    const token = (await runStackd(["token", "create", "leaver", "--role", "read", "--tokens", file])).stdout.trim();
    const scratch = await scratchServer({ tokens: new TokenRegistry({ file }), failureLimit: 3 });
    try {
      const signIn = (t: string, next = "/runs/run_x") =>
        fetch(`${scratch.url}/ui/session`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ token: t, next }), redirect: "manual" });
      const ok = await signIn(token);
      expect([ok.status, ok.headers.get("location")]).toEqual([303, "/runs/run_x"]);
      const cookie = ok.headers.get("set-cookie")!;
      expect(cookie.split("; ").slice(1).sort()).toEqual(["HttpOnly", "Path=/", "SameSite=Strict"]);
      expect(cookie).toMatch(/^stackd_session=[A-Za-z0-9_-]{43};/);
      expect(cookie).not.toContain(token);
      // Only a path on this site is followed after signing in.
      expect((await signIn(token, "//elsewhere.example/")).headers.get("location")).toBe("/");
      const session = cookie.split(";")[0]!;
      const page = () => fetch(`${scratch.url}/`, { headers: { cookie: session }, redirect: "manual" });
      expect((await page()).status).toBe(200);
      // The token leaves the tokens file: its session ends with it.
      fs.writeFileSync(file, "[]\n");
      const after = await page();
      expect([after.status, after.headers.get("location")]).toEqual([303, "/sign-in?next=%2F"]);
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await signIn("stackd_not-a-token")).status);
      expect(statuses).toEqual([401, 401, 401, 429]);
    } finally {
      await scratch.close();
    }
  });

  it("--metrics-public serves /metrics without a token, and nothing else", async () => {
    const server = await scratchServer({ tokens: new TokenRegistry({}), metricsPublic: true });
    const open = server.url;
    try {
      const metrics = await get(`${open}/metrics`);
      expect([metrics.status, metrics.body.includes("stackd_queue_depth")]).toEqual([200, true]);
      expect((await get(`${open}/api/stacks`)).status).toBe(401);
    } finally {
      await server.close();
    }
  });
});

describe("repository credentials", () => {
  it("a token as the URL's user name, from STACKD_GIT_TOKEN or from a token file fetches; none is refused with a clear error", async () => {
    const clean = `http://127.0.0.1:${gitHttp.port}/infra.git`;
    const asUser = new GitSource(`http://${CANARY_TOKEN}@127.0.0.1:${gitHttp.port}/infra.git`, fs.mkdtempSync(path.join(tmp, "user-")));
    expect(asUser.repo).toBe(`http://***@127.0.0.1:${gitHttp.port}/infra.git`);
    await asUser.fetch();
    expect((await asUser.head("main")).revision).toBe(repo.head());
    expect(gitHttp.requests.some((r) => r.authorized && r.user === CANARY_TOKEN)).toBe(true);

    const dataDir = fs.mkdtempSync(path.join(tmp, "env-token-"));
    const fromEnv = new GitSource(clean, dataDir, { token: CANARY_TOKEN });
    expect(fromEnv.repo).toBe(`http://***@127.0.0.1:${gitHttp.port}/infra.git`);
    await fromEnv.fetch();
    expect((await fromEnv.head("main")).revision).toBe(repo.head());
    for (const e of filesUnder(dataDir)) if (e.file) noLeak(e.path, readIfThere(e.path), [CANARY_TOKEN]);

    const tokenFile = path.join(tmp, "git token");
    fs.writeFileSync(tokenFile, `${CANARY_TOKEN}\n`, { mode: 0o600 });
    const fromFile = new GitSource(clean, fs.mkdtempSync(path.join(tmp, "file-token-")), { tokenFile });
    await fromFile.fetch();
    expect((await fromFile.head("main")).revision).toBe(repo.head());

    const none = new GitSource(clean, fs.mkdtempSync(path.join(tmp, "none-")));
    const err = await none.fetch().then(
      () => "fetched?!",
      (e: Error) => e.message,
    );
    expect(err).toMatch(new RegExp(`^repository ${clean.replace(/[.]/g, "\\.")}: cannot fetch: .*(Authentication failed|could not read Username)`));
  });
});

describe("a service on a repository over SSH with a deploy key, serving HTTPS", () => {
  let sshd: Sshd;
  let svc: ServeProcess;
  let key: { privateKeyPath: string; publicKey: string };
  let keyCanary: string;
  let knownHosts: string;
  let dataDir: string;
  let url: string;
  let ca: Buffer;

  beforeAll(async () => {
    key = makeDeployKey(path.join(tmp, "deploy key"));
    // The body of the private key: what must never be copied anywhere.
    keyCanary = fs.readFileSync(key.privateKeyPath, "utf8").split("\n").filter((l) => l && !l.startsWith("-----")).join("");
    sshd = await startSshd({ authorizedKey: key.publicKey });
    knownHosts = path.join(tmp, "known_hosts");
    fs.writeFileSync(knownHosts, `${sshd.knownHostsLine}\n`);
    const cert = path.join(tmp, "cert.pem");
    const tlsKey = path.join(tmp, "key.pem");
    execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", tlsKey, "-out", cert], { stdio: "ignore" });
    ca = fs.readFileSync(cert);
    dataDir = path.join(tmp, "ssh data");
    const port = await freePort();
    url = `https://127.0.0.1:${port}`;
    svc = spawnServe(
      ["--repo", sshd.url(bare), "--data-dir", dataDir, "--port", String(port), "--poll-interval", "3600", "--ssh-key", key.privateKeyPath, "--known-hosts", knownHosts, "--tls-cert", cert, "--tls-key", tlsKey, "--grace", "5"],
      emu.env,
    );
    await waitFor("the service to fetch over SSH", async () => (await httpsGet(`${url}/readyz`, ca).catch(() => undefined))?.body === "ready", 60_000);
  });

  afterAll(async () => {
    await svc?.stop();
    await sshd?.stop();
  });

  it("fetches with the key, serves HTTPS, and generates an admin token it never prints", async () => {
    const tokenFile = path.join(dataDir, "admin-token");
    expect(fs.statSync(tokenFile).mode & 0o777).toBe(0o600);
    const adminToken = fs.readFileSync(tokenFile, "utf8").trim();
    expect(svc.output()).toContain(`generated admin token in ${tokenFile}`);
    expect((await httpsGet(`${url}/api/stacks`, ca)).status).toBe(401);
    const stacks = await httpsGet(`${url}/api/stacks`, ca, adminToken);
    expect(stacks.status).toBe(200);
    expect((JSON.parse(stacks.body) as { repo: string; head: string }).head).toBe(repo.head());
    // Plain HTTP to the HTTPS port gets nothing useful.
    expect(await get(`${url.replace("https", "http")}/healthz`).then((r) => r.status, () => "refused")).not.toBe(200);
    // Over HTTPS the dashboard's session cookie is Secure.
    const signIn = await httpsRequest(`${url}/ui/session`, ca, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ token: adminToken }).toString() });
    expect([signIn.status, signIn.headers["set-cookie"]?.[0]?.split("; ").slice(1).sort()]).toEqual([303, ["HttpOnly", "Path=/", "SameSite=Strict", "Secure"]]);
    for (const surface of [stacks.body, svc.output()]) noLeak("API or log", surface, [keyCanary, adminToken]);
    probeDataDir(dataDir, [keyCanary]);
  });

  it("checks the host key: a server not in known_hosts is refused", async () => {
    const empty = path.join(tmp, "empty_known_hosts");
    fs.writeFileSync(empty, "");
    const source = new GitSource(sshd.url(bare), fs.mkdtempSync(path.join(tmp, "hostkey-")), { sshKey: key.privateKeyPath, knownHosts: empty });
    const err = await source.fetch().then(
      () => "fetched?!",
      (e: Error) => e.message,
    );
    expect(err).toMatch(/: cannot fetch: No ED25519 host key is known for \[127\.0\.0\.1\]:\d+ and you have requested strict checking/);
  });
});

describe("webhooks", () => {
  let svc: TestService;
  let served: Awaited<ReturnType<typeof servedSampleRepo>>;
  let dataDir: string;

  beforeAll(async () => {
    served = await servedSampleRepo({ "stackd.yaml": STACKD_YAML });
    served.push();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "stackd-replay-"));
    svc = await startService({ repo: served.url, dataDir, env: emu.env });
  });

  afterAll(async () => {
    await svc?.stop();
    await served?.daemon.stop();
  });

  const delivery = (id: string, revision: string) => {
    const body = JSON.stringify({ ref: "refs/heads/main", after: revision, repository: { full_name: "team/infra" } });
    return fetch(`${svc.url}/webhooks/github`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-github-event": "push", "x-github-delivery": id, "x-hub-signature-256": githubSignature(WEBHOOK_SECRET, body) },
      body,
    });
  };
  const runsAt = (revision: string) => svc.runs().filter((r) => r.revision === revision).length;

  it("accepts each GitHub delivery once: a replay answers duplicate and queues nothing, across a restart too", async () => {
    const devFile = "stacks/Pulumi.dev.yaml";
    const second = served.repo.commit({ [devFile]: served.repo.read(devFile).replace(/dataClass: .*/, "dataClass: second") }, "second");
    served.push();
    expect((await delivery("d-1", second)).status).toBe(202);
    await waitFor("runs of the pushed commit", () => runsAt(second) > 0);

    const third = served.repo.commit({ [devFile]: served.repo.read(devFile).replace(/dataClass: .*/, "dataClass: third") }, "third");
    served.push();
    const replay = await delivery("d-1", third);
    expect([replay.status, await replay.json()]).toEqual([200, { duplicate: true, delivery: "d-1" }]);
    await new Promise((r) => setTimeout(r, 2_000));
    expect(runsAt(third)).toBe(0);
    // A new delivery of the same push does what the replay did not.
    expect((await delivery("d-2", third)).status).toBe(202);
    await waitFor("runs of the third commit", () => runsAt(third) > 0);

    await svc.stop();
    svc = await startService({ repo: served.url, dataDir, env: emu.env });
    const afterRestart = await delivery("d-2", third);
    expect([afterRestart.status, ((await afterRestart.json()) as { duplicate: boolean }).duplicate]).toEqual([200, true]);
  });
});

describe("stackd doctor", () => {
  it("warns about a service beyond loopback without TLS, a token file others can read, and webhooks without a secret", async () => {
    const file = path.join(tmp, "open tokens.yaml");
    await runStackd(["token", "create", "someone", "--role", "read", "--tokens", file]);
    fs.chmodSync(file, 0o644);
    const env: Record<string, string> = { ...emu.env, STACKD_WEBHOOK_SECRET: "" };
    const res = await runStackd(["doctor", "--repo", repo.dir, "--data-dir", path.join(tmp, "doctor data"), "--host", "0.0.0.0", "--tokens", file], env);
    const warnings = res.stdout.split("\n").filter((l) => l.startsWith("warning: "));
    expect(warnings).toEqual([
      "warning: serve would listen on 0.0.0.0 without TLS: tokens would cross the network in clear (use --tls-cert/--tls-key or a TLS proxy)",
      `warning: the tokens file ${file} is readable by group or others: chmod 600 it`,
      "warning: STACKD_WEBHOOK_SECRET is not set: webhooks are refused, so changes are seen only by polling",
    ]);
    const quiet = await runStackd(["doctor", "--repo", repo.dir, "--data-dir", path.join(tmp, "doctor data"), "--tls-cert", "x.pem"], { ...emu.env, STACKD_WEBHOOK_SECRET: "set" });
    expect(quiet.stdout).not.toContain("warning:");
  });
});
