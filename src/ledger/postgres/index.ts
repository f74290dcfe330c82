import pg from "pg";
import type { Ledger } from "../repositories.ts";
import { queriesOn } from "./client.ts";
import { PgDrift } from "./drift.ts";
import { migratePostgres } from "./migrations.ts";
import { PgPreviews } from "./previews.ts";
import { PgRuns } from "./runs.ts";
import { PgApprovals, PgDeliveries, PgMeta } from "./small.ts";
import { PgStacks } from "./stacks.ts";
import { dumpRows, restoreRows } from "./transfer.ts";
import { MIGRATIONS } from "../sqlite/migrations.ts";
import { maskUrl } from "../urls.ts";

export { PG_MIGRATIONS, migratePostgres } from "./migrations.ts";

/** Connections one process keeps to the database at most. */
const POOL_SIZE = 5;

/**
 * The ledger in PostgreSQL, shared by every replica. Usable at once: the
 * first query waits for the migrations (run once across replicas under an
 * advisory lock); a migration that fails fails every query with its reason.
 */
export function openPostgresLedger(url: string, applicationName = "stackd"): Ledger {
  const pool = new pg.Pool({ connectionString: url, max: POOL_SIZE, application_name: applicationName });
  // An idle connection the server dropped is not a reason to stop the service.
  pool.on("error", () => {});
  let migrated: Promise<number> | undefined;
  const ready = async () => {
    migrated ??= migratePostgres(pool);
    await migrated;
  };
  const q = queriesOn(pool, ready);
  const runs = new PgRuns(q);
  return {
    runs,
    stacks: new PgStacks(q),
    drift: new PgDrift(q),
    approvals: new PgApprovals(q, runs),
    previews: new PgPreviews(q),
    meta: new PgMeta(q),
    deliveries: new PgDeliveries(q),
    version: async () => String((await q.one("SELECT n FROM ledger_version"))!.n),
    schemaVersion: MIGRATIONS.length,
    compact: async () => {
      await q.run("VACUUM");
    },
    async *dump() {
      await ready();
      yield* dumpRows(pool);
    },
    restore: async () => {
      await ready();
      return restoreRows(pool, maskUrl(url));
    },
    close: () => pool.end(),
  };
}
