import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { z } from "zod";
import { StackdError, messageOf } from "../support/index.ts";
import { ROLES, type Principal, type Role } from "./roles.ts";

const TokenEntry = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/, "letters, digits, _ . @ - (at most 64)"),
  role: z.enum(ROLES),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, "the token's sha256 in hex (64 characters)"),
});
const TokenFileSchema = z.array(TokenEntry).nullable();

/** One entry of a tokens file: a name, a role and the token's sha256 (never the token). */
export type TokenEntry = z.infer<typeof TokenEntry>;

/** The sha256 a tokens file keeps for a token. */
export const tokenHash = (token: string): string => createHash("sha256").update(token).digest("hex");

/** A new random token: 32 bytes, base64url, with a prefix that secret scanners can match. */
const newToken = (): string => `stackd_${randomBytes(32).toString("base64url")}`;

/** Reads and checks a tokens file; errors name the file and the entry. */
function readTokenFile(file: string): TokenEntry[] {
  let doc: unknown;
  try {
    doc = parseYaml(fs.readFileSync(file, "utf8"));
  } catch (err) {
    throw new StackdError(`cannot read the tokens file: ${messageOf(err)}`, { kind: "config", where: file });
  }
  const parsed = TokenFileSchema.safeParse(doc);
  if (!parsed.success) {
    const reason = parsed.error.issues.map((i) => `${i.path.length ? `entry ${i.path.join(".")}` : "file"}: ${i.message}`).join("; ");
    throw new StackdError(`not a tokens file (a list of {name, role, sha256}): ${reason}`, { kind: "config", where: file });
  }
  const entries = parsed.data ?? [];
  const seen = new Set<string>();
  for (const e of entries) {
    if (seen.has(e.name)) throw new StackdError(`the name "${e.name}" is used twice`, { kind: "config", where: file });
    seen.add(e.name);
  }
  return entries;
}

/**
 * Adds a token to a tokens file (created 0600 when missing) and returns the
 * token: the file keeps only its hash, so this is the one time it is seen.
 */
export function createToken(file: string, name: string, role: Role): string {
  const entries = fs.existsSync(file) ? readTokenFile(file) : [];
  if (entries.some((e) => e.name === name)) throw new StackdError(`a token named "${name}" already exists`, { kind: "conflict", where: file });
  const token = newToken();
  const entry = TokenEntry.safeParse({ name, role, sha256: tokenHash(token) });
  if (!entry.success) throw new StackdError(`bad token name "${name}": ${entry.error.issues[0]!.message}`, { kind: "usage" });
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, stringifyYaml([...entries, entry.data]), { mode: 0o600 });
  fs.renameSync(tmp, file);
  return token;
}

/** A token whose value stackd holds itself (STACKD_API_TOKEN, the generated admin token). */
interface HeldToken {
  name: string;
  role: Role;
  token: string;
}

/**
 * The tokens a service accepts. A tokens file is read again when it changes,
 * so `stackd token create` takes effect without a restart. Every check
 * compares the presented token's hash with every entry in constant time:
 * no early return tells which entry came close.
 */
export class TokenRegistry {
  private readonly file?: string;
  private readonly held: TokenEntry[];
  private fileEntries: TokenEntry[] = [];
  private fileStamp = "";

  constructor(o: { file?: string; held?: HeldToken[] }) {
    this.file = o.file;
    this.held = (o.held ?? []).map((t) => ({ name: t.name, role: t.role, sha256: tokenHash(t.token) }));
    this.reload();
  }

  private reload(): void {
    if (!this.file) return;
    let stamp: string;
    try {
      const st = fs.statSync(this.file);
      stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
    } catch {
      stamp = "missing";
    }
    if (stamp === this.fileStamp) return;
    // A file broken while the service runs keeps the last good entries; startup reports it.
    this.fileEntries = stamp === "missing" ? [] : readTokenFile(this.file);
    this.fileStamp = stamp;
  }

  /** The principal a presented token belongs to, or undefined. */
  verify(token: string): Principal | undefined {
    return this.verifyHash(tokenHash(token));
  }

  /** The principal a token's sha256 (hex) belongs to, or undefined: for holders that keep only the hash. */
  verifyHash(sha256: string): Principal | undefined {
    try {
      this.reload();
    } catch {
      // keep the entries read last
    }
    const presented = Buffer.from(sha256, "hex");
    let found: Principal | undefined;
    for (const e of [...this.held, ...this.fileEntries]) {
      if (timingSafeEqual(presented, Buffer.from(e.sha256, "hex")) && !found) found = { name: e.name, role: e.role };
    }
    return found;
  }
}

/** Where a data dir keeps the admin token serve generates (read by the CLI beside the service). */
export const adminTokenFile = (dataDir: string): string => path.join(dataDir, "admin-token");

/**
 * The admin token a service generates when it is given no tokens at all:
 * `<data dir>/admin-token`, 0600, made on first start and reused after.
 */
export function ensureAdminToken(dataDir: string): { file: string; token: string; created: boolean } {
  const file = adminTokenFile(dataDir);
  if (fs.existsSync(file)) {
    const token = fs.readFileSync(file, "utf8").trim();
    if (token) {
      fs.chmodSync(file, 0o600);
      return { file, token, created: false };
    }
  }
  fs.mkdirSync(dataDir, { recursive: true });
  const token = newToken();
  fs.writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return { file, token, created: true };
}
