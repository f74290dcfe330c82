import path from "node:path";
import { ROLES, createToken, type Role } from "../access/index.ts";
import { StackdError } from "../support/index.ts";
import { writeOut } from "./output.ts";

/**
 * `stackd token create NAME --role R`: appends a new token's hash to the
 * tokens file and prints the token, the only time it is shown.
 */
export async function tokenCreateCommand(name: string, flags: { role: string; tokens?: string; dataDir: string }): Promise<number> {
  if (!(ROLES as readonly string[]).includes(flags.role)) {
    throw new StackdError(`"${flags.role}" is not a role: one of ${ROLES.join(", ")}`, { kind: "usage", where: "--role" });
  }
  const file = path.resolve(flags.tokens ?? (process.env.STACKD_TOKENS || path.join(flags.dataDir, "tokens.yaml")));
  const token = createToken(file, name, flags.role as Role);
  process.stderr.write(`stackd: token "${name}" (${flags.role}) added to ${file}; it is shown once, below\n`);
  writeOut(`${token}\n`);
  return 0;
}
