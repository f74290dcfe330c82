import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import type { RoleSettings } from "../catalog/index.ts";
import { StackdError, messageOf, registerSecret } from "../support/index.ts";

/** apply: up, remediation, adopt. preview: previews and drift checks. pull-request: previews of unmerged code. */
export type Purpose = "apply" | "preview" | "pull-request";

interface Cached {
  env: Record<string, string>;
  expires: number;
}

/** Credentials are renewed this long before they expire, so no run starts with minutes left. */
const RENEW_BEFORE_MS = 5 * 60_000;

/** STS allows [\w+=,.@-]{2,64} in a session name. */
function sessionName(stack: string, revision: string): string {
  return `stackd-${stack}-${revision.slice(0, 7)}`.replace(/[^\w+=,.@-]/g, ".").slice(0, 64);
}

/** Which role a run assumes: the preview role where one is set, and for pull requests only that. */
export function roleFor(roles: RoleSettings, purpose: Purpose): string | undefined {
  if (purpose === "apply") return roles.roleArn;
  if (purpose === "preview") return roles.previewRoleArn ?? roles.roleArn;
  if (roles.previewRoleArn) return roles.previewRoleArn;
  if (roles.roleArn) {
    throw new StackdError("has an apply role but no previewRoleArn: pull request previews never run with apply credentials; add previewRoleArn in stackd.yaml", {
      kind: "config",
    });
  }
  return undefined;
}

/**
 * Holds stackd's own (base) AWS identity and turns it into per-run
 * credentials with STS AssumeRole. Temporary credentials live in memory only,
 * are handed to one run's environment, registered for masking, and reused
 * until shortly before they expire.
 */
export class CredentialBroker {
  private readonly sts: STSClient;
  private readonly cache = new Map<string, Cached>();
  private readonly region: string;

  /** `env`: the base environment (credentials, AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_STS, region). */
  constructor(env: Record<string, string | undefined> = process.env) {
    this.region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? "us-east-1";
    const endpoint = env.AWS_ENDPOINT_URL_STS ?? env.AWS_ENDPOINT_URL;
    const credentials =
      env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
        ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, sessionToken: env.AWS_SESSION_TOKEN }
        : undefined;
    this.sts = new STSClient({ region: this.region, ...(endpoint ? { endpoint } : {}), ...(credentials ? { credentials } : {}) });
  }

  /** The environment one run of `stack` at `revision` needs; empty when the stack has no role (base credentials). */
  async envFor(stack: string, revision: string, roles: RoleSettings, purpose: Purpose): Promise<Record<string, string>> {
    let roleArn: string | undefined;
    try {
      roleArn = roleFor(roles, purpose);
    } catch (err) {
      throw new StackdError(messageOf(err), { kind: "config", where: stack });
    }
    if (!roleArn) return {};
    const name = sessionName(stack, revision);
    const key = [roleArn, roles.externalId ?? "", name, roles.sessionDuration ?? 3600, roles.region ?? ""].join("|");
    const hit = this.cache.get(key);
    if (hit && hit.expires - Date.now() > RENEW_BEFORE_MS) return hit.env;
    const env = await this.assume(roleArn, name, roles);
    this.cache.set(key, env);
    return env.env;
  }

  private async assume(roleArn: string, name: string, roles: RoleSettings): Promise<Cached> {
    try {
      const res = await this.sts.send(
        new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: name, ExternalId: roles.externalId, DurationSeconds: roles.sessionDuration ?? 3600 }),
      );
      const c = res.Credentials;
      if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken) throw new Error("STS returned no credentials");
      registerSecret(c.SecretAccessKey);
      registerSecret(c.SessionToken);
      return {
        env: {
          AWS_ACCESS_KEY_ID: c.AccessKeyId,
          AWS_SECRET_ACCESS_KEY: c.SecretAccessKey,
          AWS_SESSION_TOKEN: c.SessionToken,
          AWS_REGION: roles.region ?? this.region,
        },
        expires: c.Expiration?.getTime() ?? Date.now() + (roles.sessionDuration ?? 3600) * 1000,
      };
    } catch (err) {
      const e = err as { name?: string };
      throw new StackdError(
        `cannot assume role ${roleArn}: ${e.name ?? "Error"}: ${messageOf(err)}; check the role's trust policy (and externalId) and that stackd's identity may sts:AssumeRole it`,
        { kind: "config", cause: err },
      );
    }
  }

  /** Who stackd is with its base credentials. */
  async identity(): Promise<string> {
    const res = await this.sts.send(new GetCallerIdentityCommand({}));
    return res.Arn ?? "unknown";
  }

  /** A trial AssumeRole of a role, bypassing the cache: ok, or the reason. */
  async tryRole(roleArn: string, roles: RoleSettings): Promise<{ ok: true } | { ok: false; reason: string }> {
    try {
      await this.assume(roleArn, "stackd-doctor", roles);
      return { ok: true };
    } catch (err) {
      return { ok: false, reason: messageOf(err) };
    }
  }
}
