import { checkDatabaseUrl } from "../ledger/index.ts";
import { registerSecret } from "../support/index.ts";

/**
 * The ledger's database: --database, else $STACKD_DATABASE_URL; none keeps
 * the ledger in the data dir. Its password is masked wherever it could appear.
 */
export function databaseFlag(flags: { database?: string }): string | undefined {
  const url = flags.database ?? (process.env.STACKD_DATABASE_URL || undefined);
  if (!url) return undefined;
  checkDatabaseUrl(url);
  registerSecret(decodeURIComponent(new URL(url).password) || undefined);
  return url;
}
