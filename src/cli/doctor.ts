import fs from "node:fs";
import { discoverStacks, loadSettings, settingsFor } from "../catalog/index.ts";
import { CredentialBroker, diagnose } from "../credentials/index.ts";
import { languageHosts, loadToolchain } from "../pulumi/index.ts";
import { GitSource } from "../source/index.ts";
import { StackdError } from "../support/index.ts";
import { requireFormat, writeOut } from "./output.ts";
import { tokensFileFor } from "./serve.ts";

/** `stackd doctor`'s options. */
export interface DoctorFlags {
  repo: string;
  branch?: string;
  config?: string;
  dataDir: string;
  format: string;
  host: string;
  tlsCert?: string;
  tokens?: string;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/** What would make `stackd serve` with these settings easy to attack: warnings, not failures. */
export function securityWarnings(flags: Pick<DoctorFlags, "host" | "tlsCert" | "tokens" | "dataDir">, env: NodeJS.ProcessEnv = process.env): string[] {
  const warnings: string[] = [];
  if (!LOOPBACK.test(flags.host) && !flags.tlsCert) {
    warnings.push(`serve would listen on ${flags.host} without TLS: tokens would cross the network in clear (use --tls-cert/--tls-key or a TLS proxy)`);
  }
  const tokens = tokensFileFor(flags);
  if (tokens && fs.existsSync(tokens) && fs.statSync(tokens).mode & 0o077) {
    warnings.push(`the tokens file ${tokens} is readable by group or others: chmod 600 it`);
  }
  if (!env.STACKD_WEBHOOK_SECRET) warnings.push("STACKD_WEBHOOK_SECRET is not set: webhooks are refused, so changes are seen only by polling");
  return warnings;
}

/**
 * `stackd doctor`: the engine and language hosts stackd runs programs with,
 * stackd's base cloud identity, and a trial AssumeRole of every role the
 * repository's stacks name. Exit 0 all good, 1 otherwise.
 */
export async function doctorCommand(flags: DoctorFlags): Promise<number> {
  const format = requireFormat(flags.format, ["text", "json"] as const);
  const source = new GitSource(flags.repo, flags.dataDir);
  await source.fetch();
  const { revision } = await source.head(flags.branch);
  const checkout = await source.checkout(revision);
  const loaded = loadSettings(checkout, flags.config);
  if (!loaded.ok) throw new StackdError(loaded.error, { kind: "config" });
  const stacks = discoverStacks(checkout).map((e) => ({ name: `${e.project}/${e.stack}`, roles: settingsFor(loaded.settings, e.project, e.stack).roles }));
  const tc = await loadToolchain();
  const engine = { version: tc.command.version?.toString() ?? "unknown", path: tc.binDir, languageHosts: await languageHosts() };
  const report = { engine, ...(await diagnose(new CredentialBroker(), stacks)), warnings: securityWarnings(flags) };
  const ok = report.identity.ok && report.roles.every((r) => r.ok);
  if (format === "json") {
    writeOut(`${JSON.stringify(report, null, 2)}\n`);
    return ok ? 0 : 1;
  }
  const lines = [
    `engine: pulumi v${engine.version} (${engine.path})`,
    ...engine.languageHosts.map((h) => `language host: ${h.runtime.padEnd(7)} ${h.path}`),
    report.identity.ok ? `identity: ${report.identity.arn}: ok` : `identity: FAILED: ${report.identity.reason}`,
  ];
  if (report.roles.length === 0) lines.push("no stack names a role: runs use the identity above");
  for (const r of report.roles) {
    lines.push(`${r.ok ? "ok    " : "FAILED"} ${r.use.padEnd(7)} ${r.role} (${r.stacks.join(", ")})${r.ok ? "" : `\n       ${r.reason}`}`);
  }
  for (const w of report.warnings) lines.push(`warning: ${w}`);
  writeOut(`${lines.join("\n")}\n`);
  return ok ? 0 : 1;
}
