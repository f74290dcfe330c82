/** What a token may do: each role includes the ones before it. */
export const ROLES = ["read", "operate", "admin"] as const;
/** One of ROLES. */
export type Role = (typeof ROLES)[number];

/** Whether `held` includes everything `needed` allows. */
export function roleAllows(held: Role, needed: Role): boolean {
  return ROLES.indexOf(held) >= ROLES.indexOf(needed);
}

/** Who made an authenticated call: the token's name and role. */
export interface Principal {
  name: string;
  role: Role;
}
