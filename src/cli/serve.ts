import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { TokenRegistry, ensureAdminToken, type Principal } from "../access/index.ts";
import { loadSettings } from "../catalog/index.ts";
import { MIN_LEASE_SECONDS } from "../cluster/index.ts";
import { mask, registerSecret } from "../support/index.ts";
import { resolveBackend } from "../pulumi/index.ts";
import { Controller } from "../reconciler/index.ts";
import { buildServer, dashboardBuilt } from "../server/index.ts";
import { StackdError, messageOf, privateDir } from "../support/index.ts";
import { databaseFlag } from "./database.ts";

/** `stackd serve`'s options. */
export interface ServeFlags {
  repo?: string;
  branch?: string;
  port: string;
  host: string;
  config?: string;
  dataDir: string;
  database?: string;
  replicaName?: string;
  lease: string;
  backend?: string;
  pollInterval?: string;
  parallelism?: string;
  grace: string;
  tokens?: string;
  metricsPublic?: boolean;
  authFailureLimit: string;
  tlsCert?: string;
  tlsKey?: string;
  sshKey?: string;
  knownHosts?: string;
  gitTokenFile?: string;
}

/** The tokens file serve reads: --tokens, $STACKD_TOKENS, else `<data dir>/tokens.yaml` when it exists. */
export function tokensFileFor(flags: { tokens?: string; dataDir: string }): string | undefined {
  const explicit = flags.tokens ?? (process.env.STACKD_TOKENS || undefined);
  if (explicit) return path.resolve(explicit);
  const inDataDir = path.join(flags.dataDir, "tokens.yaml");
  return fs.existsSync(inDataDir) ? inDataDir : undefined;
}

/**
 * The tokens the API accepts: a tokens file, STACKD_API_TOKEN (one admin
 * token), or with neither an admin token stackd generates once into the data
 * dir. Says where the tokens come from, never a token.
 */
function apiTokens(flags: ServeFlags, apiToken: string | undefined): { tokens: TokenRegistry; source: string } {
  const file = tokensFileFor(flags);
  if (file && !fs.existsSync(file)) throw new StackdError("the tokens file does not exist (create one with `stackd token create`)", { kind: "config", where: file });
  const held: (Principal & { token: string })[] = apiToken ? [{ name: "STACKD_API_TOKEN", role: "admin", token: apiToken }] : [];
  if (!file && !apiToken) {
    const admin = ensureAdminToken(flags.dataDir);
    registerSecret(admin.token);
    held.push({ name: "admin", role: "admin", token: admin.token });
    return { tokens: new TokenRegistry({ held }), source: `${admin.created ? "generated" : "kept"} admin token in ${admin.file}` };
  }
  const tokens = new TokenRegistry({ file, held });
  return { tokens, source: [file && `tokens file ${file}`, apiToken && "STACKD_API_TOKEN"].filter(Boolean).join(" and ") };
}

function readPem(file: string, what: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new StackdError(`cannot read the TLS ${what}: ${messageOf(err)}`, { kind: "config", where: file });
  }
}

function intFlag(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new StackdError(`"${value}" is not a whole number`, { kind: "usage", where: flag });
  return n;
}

/** --lease: whole seconds, at least the least pg-boss's heartbeats allow. */
function leaseFlag(value: string): number {
  const n = intFlag(value, "--lease")!;
  if (n < MIN_LEASE_SECONDS) throw new StackdError(`a lease of ${n}s is too short: at least ${MIN_LEASE_SECONDS}`, { kind: "usage", where: "--lease" });
  return n;
}

/** `stackd serve`: the long-running reconciler with its HTTP API. Resolves when stopped by a signal. */
export async function serveCommand(flags: ServeFlags): Promise<number> {
  let repo = flags.repo ?? process.env.STACKD_REPO;
  if (flags.config) {
    const loaded = loadSettings(path.dirname(path.resolve(flags.config)), path.resolve(flags.config));
    if (!loaded.ok) throw new StackdError(loaded.error, { kind: "config" });
    repo ??= loaded.settings.repo;
  }
  repo ??= ".";
  // Everything stackd writes is its owner's alone: state, ledger, tokens, checkouts.
  privateDir(flags.dataDir);
  if (!!flags.tlsCert !== !!flags.tlsKey) throw new StackdError("--tls-cert and --tls-key go together", { kind: "usage" });
  const tls = flags.tlsCert && flags.tlsKey ? { cert: readPem(flags.tlsCert, "certificate"), key: readPem(flags.tlsKey, "key") } : undefined;
  const webhookSecret = process.env.STACKD_WEBHOOK_SECRET || undefined;
  const apiToken = process.env.STACKD_API_TOKEN || undefined;
  const githubToken = process.env.STACKD_GITHUB_TOKEN || undefined;
  registerSecret(githubToken);
  registerSecret(webhookSecret);
  registerSecret(apiToken);
  const database = databaseFlag(flags);
  // Read once; the programs stackd runs (anyone's commit) inherit its environment, so these leave it.
  for (const name of ["STACKD_WEBHOOK_SECRET", "STACKD_API_TOKEN", "STACKD_GITHUB_TOKEN", "STACKD_DATABASE_URL"]) delete process.env[name];
  registerSecret(resolveBackend(flags.dataDir, flags.backend).passphrase);
  const { tokens, source: tokenSource } = apiTokens(flags, apiToken);

  // Every log line passes through the masking function on its way out.
  const logger = pino({ base: undefined }, { write: (line: string) => process.stdout.write(mask(line)) });
  const pollSeconds = intFlag(flags.pollInterval, "--poll-interval");
  const controller = new Controller({
    repo,
    gitCredentials: { sshKey: flags.sshKey, knownHosts: flags.knownHosts, tokenFile: flags.gitTokenFile },
    branch: flags.branch,
    dataDir: flags.dataDir,
    database,
    replica: database ? { name: flags.replicaName ?? (process.env.STACKD_REPLICA_NAME || undefined), leaseSeconds: leaseFlag(flags.lease) } : undefined,
    backend: flags.backend,
    pollIntervalMs: pollSeconds === undefined ? undefined : pollSeconds * 1000,
    parallelism: intFlag(flags.parallelism, "--parallelism"),
    settingsFile: flags.config,
    github: githubToken ? { token: githubToken, baseUrl: process.env.STACKD_GITHUB_API_URL || "https://api.github.com" } : undefined,
    logger,
  });
  const server = await buildServer({
    controller,
    tokens,
    webhookSecret,
    tls,
    metricsPublic: !!flags.metricsPublic,
    failureLimit: intFlag(flags.authFailureLimit, "--auth-failure-limit"),
  });
  const url = await server.listen({ port: intFlag(flags.port, "--port") ?? 8080, host: flags.host });
  fs.writeFileSync(path.join(flags.dataDir, "serve.json"), JSON.stringify({ url, pid: process.pid }));
  // Listening on every address, the replica is reached by its host name.
  void controller.listening(flags.host === "0.0.0.0" || flags.host === "::" ? url.replace(/\/\/[^/:]+|\/\/\[[^\]]+\]/, `//${os.hostname()}`) : url);
  logger.info({ url, repo: controller.repo, webhooks: !!webhookSecret, tokens: tokenSource, tls: !!tls, metricsPublic: !!flags.metricsPublic }, "stackd listening");
  if (!dashboardBuilt()) logger.warn({ dashboard: url }, "the dashboard's script and stylesheet are not built (run `npm run setup`): its pages are served unstyled and do not update live");
  void controller.start();

  await new Promise<void>((resolve) => {
    const stop = async (signal: string) => {
      logger.info({ signal }, "stopping: no new work; running operations get the grace period");
      await server.close();
      await controller.stop((intFlag(flags.grace, "--grace") ?? 30) * 1000);
      fs.rmSync(path.join(flags.dataDir, "serve.json"), { force: true });
      logger.info({}, "stopped");
      resolve();
    };
    // The first signal starts a graceful stop; a second one cancels running operations at once.
    let stopping = false;
    const onSignal = (signal: string) => {
      if (stopping) {
        logger.info({ signal }, "second signal: cancelling running operations now");
        controller.hurry();
        return;
      }
      stopping = true;
      void stop(signal);
    };
    process.on("SIGTERM", () => onSignal("SIGTERM"));
    process.on("SIGINT", () => onSignal("SIGINT"));
  });
  return 0;
}
