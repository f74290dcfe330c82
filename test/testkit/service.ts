// A stackd service running in-process against a repository served over
// git:// by git's own daemon, for the service tests.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { FastifyInstance } from "fastify";
import { TokenRegistry } from "../../src/access/index.ts";
import { Controller, type Logger } from "../../src/reconciler/index.ts";
import { buildServer, githubSignature } from "../../src/server/index.ts";
import { openLedgerStore, type LedgerStore, type Run } from "../../src/ledger/index.ts";
import { serveGit, type GitDaemon } from "./git-daemon.ts";
import { createSampleRepo, type SampleRepo } from "./sample-repo.ts";

export const WEBHOOK_SECRET = "test-webhook-secret-7f3a";
export const GITHUB_TOKEN = "ghp_testtoken_5a1b";
/** The admin token every test service accepts (named "tester" in the ledger). */
export const ADMIN_TOKEN = "stackd_test-admin-token-91c4";

/** The sample repo (with extra files) pushed to a bare repository served by git daemon. */
export async function servedSampleRepo(extra: Record<string, string> = {}): Promise<{ repo: SampleRepo; url: string; daemon: GitDaemon; push(): string }> {
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), "stackd-served-"));
  const repo = createSampleRepo(parent);
  if (Object.keys(extra).length > 0) repo.commit(extra, "test setup");
  const served = path.join(parent, "served");
  fs.mkdirSync(served);
  const bare = path.join(served, "infra.git");
  repo.git("clone", "-q", "--bare", repo.dir, bare);
  repo.git("remote", "add", "origin", bare);
  const daemon = await serveGit(served);
  return {
    repo,
    url: daemon.url("infra.git"),
    daemon,
    push: () => {
      repo.git("push", "-q", "origin", "HEAD:main");
      return repo.head();
    },
  };
}

export interface TestService {
  url: string;
  controller: Controller;
  app: FastifyInstance;
  logs: string[];
  stop(): Promise<void>;
  /** The service's ledger, read (and written) at once through a connection of the test's own. */
  ledger: LedgerStore;
  runs(stack?: string): Run[];
  /** A call to the API with the admin token (or `token`; null for none). */
  api(route: string, init?: RequestInit & { token?: string | null }): Promise<Response>;
  /** Sends a signed GitHub push webhook for the branch head. */
  pushWebhook(revision: string, secret?: string): Promise<Response>;
  /** Sends a signed GitHub pull_request webhook. */
  pullRequestWebhook(pr: { number: number; action: string; headSha: string; headRef: string; fork?: boolean }): Promise<Response>;
}

export async function startService(o: {
  repo: string;
  dataDir: string;
  env: Record<string, string>;
  pollIntervalMs?: number;
  githubUrl?: string;
}): Promise<TestService> {
  const logs: string[] = [];
  const record = (level: string) => (obj: object, msg?: string) => logs.push(`${level} ${msg ?? ""} ${JSON.stringify(obj)}`);
  const logger: Logger = { info: record("info"), warn: record("warn"), error: record("error") };
  const controller = new Controller({
    repo: o.repo,
    dataDir: o.dataDir,
    env: o.env,
    pollIntervalMs: o.pollIntervalMs ?? 3_600_000,
    logger,
    github: o.githubUrl ? { token: GITHUB_TOKEN, baseUrl: o.githubUrl } : undefined,
  });
  const tokens = new TokenRegistry({ held: [{ name: "tester", role: "admin", token: ADMIN_TOKEN }] });
  const app = await buildServer({ controller, tokens, webhookSecret: WEBHOOK_SECRET });
  const url = await app.listen({ port: 0, host: "127.0.0.1" });
  await controller.start();
  // The tests read the ledger as the CLI does, through a connection of their own that answers at once.
  const ledger = openLedgerStore(o.dataDir);
  return {
    url,
    controller,
    app,
    logs,
    ledger,
    runs: (stack) => ledger.runs.list({ stack, limit: 1000 }),
    api(route, init = {}) {
      const { token = ADMIN_TOKEN, ...rest } = init;
      return fetch(`${url}${route}`, { ...rest, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(rest.headers as Record<string, string>) } });
    },
    async stop() {
      await app.close();
      await controller.stop(60_000);
      ledger.close();
    },
    pullRequestWebhook: (pr) => pullRequestWebhook(url, pr),
    pushWebhook(revision, secret = WEBHOOK_SECRET) {
      const body = JSON.stringify({ ref: "refs/heads/main", after: revision, repository: { full_name: "team/infra" } });
      return fetch(`${url}/webhooks/github`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-github-event": "push", "x-hub-signature-256": githubSignature(secret, body) },
        body,
      });
    },
  };
}

/** Sends a GitHub pull_request webhook, signed with the test secret, to a service at `url`. */
export function pullRequestWebhook(url: string, pr: { number: number; action: string; headSha: string; headRef: string; fork?: boolean }): Promise<Response> {
  const body = JSON.stringify({
    action: pr.action,
    number: pr.number,
    pull_request: {
      head: { sha: pr.headSha, ref: pr.headRef, repo: { full_name: pr.fork ? "someone/infra-fork" : "team/infra" } },
      base: { ref: "main", repo: { full_name: "team/infra" } },
    },
    repository: { full_name: "team/infra" },
  });
  return fetch(`${url}/webhooks/github`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-github-event": "pull_request", "x-hub-signature-256": githubSignature(WEBHOOK_SECRET, body) },
    body,
  });
}

/** Polls `check` until it returns a value (not undefined/false) or the time is up. */
export async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until no run is queued or running. */
export function settled(svc: TestService, timeoutMs = 180_000): Promise<true> {
  return waitFor("runs to settle", () => svc.runs().every((r) => r.status !== "queued" && r.status !== "running") && svc.controller.queueDepth() === 0, timeoutMs);
}
