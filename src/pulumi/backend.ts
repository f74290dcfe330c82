import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { StackdError, pulumiHomeDir } from "../support/index.ts";

/** Where stack state lives and how its secrets are encrypted. */
export interface BackendSettings {
  backendUrl: string;
  passphrase: string;
  pulumiHome: string;
  /** Where operations record their process groups, so a restart can end what a crash left. */
  processGroups: string;
}

const SUPPORTED = /^(file|s3|gs|azblob|https?):\/\//;

/**
 * The state backend (default: file:// under the data dir) and the passphrase
 * secrets provider's passphrase: PULUMI_CONFIG_PASSPHRASE when set, otherwise
 * one generated on first use and kept (mode 0600) in the data dir. Pulumi's
 * home (the shared plugin cache) is $PULUMI_HOME, else one in stackd's cache.
 */
export function resolveBackend(dataDir: string, backend?: string, env: Record<string, string | undefined> = process.env): BackendSettings {
  let backendUrl = backend ?? `file://${path.join(dataDir, "state")}`;
  if (!SUPPORTED.test(backendUrl)) {
    throw new StackdError(`unsupported backend "${backendUrl}": use file://<dir>, s3://<bucket>, gs://, azblob:// or https://`, {
      kind: "usage",
      where: "--backend",
    });
  }
  if (backendUrl.startsWith("file://")) {
    const dir = path.resolve(backendUrl.slice("file://".length));
    fs.mkdirSync(dir, { recursive: true });
    backendUrl = `file://${dir}`;
  }
  fs.mkdirSync(dataDir, { recursive: true });
  let passphrase = process.env.PULUMI_CONFIG_PASSPHRASE;
  if (passphrase === undefined) {
    const file = path.join(dataDir, "passphrase");
    if (!fs.existsSync(file)) fs.writeFileSync(file, randomBytes(24).toString("base64url"), { mode: 0o600, flag: "wx" });
    passphrase = fs.readFileSync(file, "utf8").trim();
  }
  return { backendUrl, passphrase, pulumiHome: pulumiHomeDir(env), processGroups: path.join(dataDir, "process-groups") };
}
