import type { RoleSettings } from "../catalog/index.ts";
import { messageOf } from "../support/index.ts";
import type { CredentialBroker } from "./broker.ts";

/** A trial AssumeRole of one role, and the stacks that use it. */
export interface RoleCheck {
  role: string;
  use: "apply" | "preview";
  stacks: string[];
  ok: boolean;
  reason?: string;
}

/** stackd's identity and every role check. */
export interface DoctorReport {
  identity: { ok: true; arn: string } | { ok: false; reason: string };
  roles: RoleCheck[];
}

/** stackd's base identity and a trial AssumeRole of every role the stacks name, once per role. */
export async function diagnose(broker: CredentialBroker, stacks: { name: string; roles: RoleSettings }[]): Promise<DoctorReport> {
  let identity: DoctorReport["identity"];
  try {
    identity = { ok: true, arn: await broker.identity() };
  } catch (err) {
    identity = { ok: false, reason: `GetCallerIdentity failed: ${messageOf(err)}; check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or the instance role` };
  }
  const wanted = new Map<string, { role: string; use: "apply" | "preview"; settings: RoleSettings; stacks: string[] }>();
  for (const s of stacks) {
    for (const [use, role] of [["apply", s.roles.roleArn], ["preview", s.roles.previewRoleArn]] as const) {
      if (!role) continue;
      const key = `${use}|${role}|${s.roles.externalId ?? ""}`;
      const entry = wanted.get(key) ?? { role, use, settings: s.roles, stacks: [] };
      entry.stacks.push(s.name);
      wanted.set(key, entry);
    }
  }
  const roles: RoleCheck[] = [];
  for (const w of wanted.values()) {
    const res = await broker.tryRole(w.role, w.settings);
    roles.push({ role: w.role, use: w.use, stacks: w.stacks, ok: res.ok, ...(res.ok ? {} : { reason: res.reason }) });
  }
  return { identity, roles };
}
