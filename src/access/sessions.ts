import { createHash, randomBytes } from "node:crypto";
import type { Principal } from "./roles.ts";
import { tokenHash, type TokenRegistry } from "./tokens.ts";

/** The dashboard's session cookie. */
export const SESSION_COOKIE = "stackd_session";
/** A session unused this long ends. */
const IDLE_MS = 8 * 3600_000;
/** Sessions kept at most; the least recently used end first. */
const MAX_SESSIONS = 10_000;

interface Session {
  /** The token's sha256: the token itself is not kept. */
  tokenHash: string;
  lastSeen: number;
}

const keyOf = (id: string) => createHash("sha256").update(id).digest("hex");

/**
 * Browser sessions of the dashboard, in memory: a signed-in browser holds a
 * random session id in an HttpOnly cookie, never the token. The token's hash
 * stays here and is checked against the registry on every request, so a
 * token removed from the tokens file ends its sessions at once. A restart ends
 * every session (people sign in again).
 */
export class Sessions {
  private readonly tokens: TokenRegistry;
  // Keyed by the id's hash: the ids themselves are not kept.
  private readonly sessions = new Map<string, Session>();

  constructor(tokens: TokenRegistry) {
    this.tokens = tokens;
  }

  /** A new session for a valid token: its id, or undefined when the token is not valid. */
  open(token: string): { id: string; principal: Principal } | undefined {
    const principal = this.tokens.verify(token);
    if (!principal) return undefined;
    if (this.sessions.size >= MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
    const id = randomBytes(32).toString("base64url");
    this.sessions.set(keyOf(id), { tokenHash: tokenHash(token), lastSeen: Date.now() });
    return { id, principal };
  }

  /** Who holds this session, while it lasts and its token is still valid. */
  principal(id: string | undefined): Principal | undefined {
    if (!id) return undefined;
    const key = keyOf(id);
    const session = this.sessions.get(key);
    if (!session) return undefined;
    const principal = Date.now() - session.lastSeen < IDLE_MS ? this.tokens.verifyHash(session.tokenHash) : undefined;
    this.sessions.delete(key);
    // Re-inserted last: the map's order is least recently used first.
    if (principal) this.sessions.set(key, { ...session, lastSeen: Date.now() });
    return principal;
  }

  /** Ends a session (sign out). */
  close(id: string | undefined): void {
    if (id) this.sessions.delete(keyOf(id));
  }
}
