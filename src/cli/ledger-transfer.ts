import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";
import { once } from "node:events";
import type { ZodType } from "zod";
import { LEDGER_TABLES, TRANSFER_FORMAT, TransferEnd, TransferHeader, TransferRow, maskUrl, openLedger, type Async, type LedgerRestore } from "../ledger/index.ts";
import { StackdError, mask, messageOf } from "../support/index.ts";
import { databaseFlag } from "./database.ts";

const ledgerFile = (dataDir: string) => path.join(dataDir, "ledger.db");
/** Where the ledger is, for messages: the database (password hidden) or the file. */
const ledgerName = (flags: { dataDir: string }, database: string | undefined) => (database ? maskUrl(database) : ledgerFile(flags.dataDir));
const summary = (counts: Record<string, number>) => LEDGER_TABLES.map((t) => `${counts[t] ?? 0} ${t}`).join(", ");

/** Writes a line to stdout, waiting when the reader is slower than the ledger. */
async function writeLine(value: unknown): Promise<void> {
  if (!process.stdout.write(`${mask(JSON.stringify(value))}\n`)) await once(process.stdout, "drain");
}

/** `stackd ledger export`: every row of the data dir's ledger as JSON lines on stdout. */
export async function exportCommand(flags: { dataDir: string; database?: string }): Promise<number> {
  const database = databaseFlag(flags);
  const file = ledgerName(flags, database);
  if (!database && !fs.existsSync(file)) throw new StackdError("no ledger here: is this stackd's data dir?", { kind: "config", where: file });
  const ledger = openLedger(flags.dataDir, database);
  try {
    const counts: Record<string, number> = Object.fromEntries(LEDGER_TABLES.map((t) => [t, 0]));
    await writeLine({ stackd: "ledger", format: TRANSFER_FORMAT, schema: ledger.schemaVersion, exportedAt: new Date().toISOString() });
    for await (const row of ledger.dump()) {
      await writeLine(row);
      counts[row.table]!++;
    }
    await writeLine({ end: true, counts });
    process.stderr.write(`stackd: exported ${summary(counts)} from ${file}\n`);
    return 0;
  } finally {
    await ledger.close();
  }
}

/** Parses one line of an export, naming the line when it is not what the format says. */
function parseLine<T>(schema: ZodType<T>, text: string, n: number): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new StackdError(`line ${n}: not JSON (${messageOf(err)})`, { kind: "usage" });
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const reason = parsed.error.issues.map((i) => `${i.path.join(".") || "line"}: ${i.message}`).join("; ");
    throw new StackdError(`line ${n}: ${reason}`, { kind: "usage" });
  }
  return parsed.data;
}

/**
 * `stackd ledger import`: fills a new data dir's ledger from an export (stdin
 * or --file), all or nothing: a bad line, a cut-off export or a ledger that
 * already holds runs leaves it as it was.
 */
export async function importCommand(flags: { dataDir: string; database?: string; file?: string }): Promise<number> {
  const database = databaseFlag(flags);
  const source = flags.file ? fs.createReadStream(flags.file) : process.stdin;
  const where = flags.file ?? "stdin";
  const lines = readline.createInterface({ input: source, crlfDelay: Infinity });
  const ledger = openLedger(flags.dataDir, database);
  let restore: Async<LedgerRestore> | undefined;
  let n = 0;
  try {
    let counts: Record<string, number> | undefined;
    for await (const text of lines) {
      n++;
      if (counts) throw new StackdError(`line ${n}: text after the export's last line`, { kind: "usage" });
      if (n === 1) {
        const header = parseLine(TransferHeader, text, n);
        if (header.schema > ledger.schemaVersion) {
          throw new StackdError(`the export is of ledger schema ${header.schema}, newer than this stackd's (${ledger.schemaVersion}): import with a newer stackd`, { kind: "usage" });
        }
        restore = await ledger.restore();
        continue;
      }
      if (text.startsWith('{"end"')) {
        const end = parseLine(TransferEnd, text, n);
        const held = await restore!.counts();
        if (LEDGER_TABLES.some((t) => (end.counts[t] ?? 0) !== held[t])) {
          throw new StackdError(`line ${n}: the export lists ${summary(end.counts)} but held ${summary(held)}: nothing was imported`, { kind: "usage" });
        }
        counts = await restore!.commit();
        continue;
      }
      const row = parseLine(TransferRow, text, n);
      try {
        await restore!.add(row);
      } catch (err) {
        throw new StackdError(`line ${n}: ${messageOf(err)}`, { kind: "usage" });
      }
    }
    if (n === 0) throw new StackdError("the export is empty", { kind: "usage" });
    if (!counts) throw new StackdError(`the export ends at line ${n} without its last line (it was cut off): nothing was imported`, { kind: "usage" });
    process.stderr.write(`stackd: imported ${summary(counts)} into ${ledgerName(flags, database)}\n`);
    return 0;
  } catch (err) {
    await restore?.abort();
    if (err instanceof StackdError && !err.where) throw new StackdError(err.message, { kind: err.kind, where });
    throw err;
  } finally {
    await ledger.close();
  }
}

/** `stackd migrate`: runs the ledger's migrations now and says which schema it is at. */
export async function migrateCommand(flags: { dataDir: string; database?: string }): Promise<number> {
  const database = databaseFlag(flags);
  const ledger = openLedger(flags.dataDir, database);
  try {
    // Any query waits for the migrations; a count is the cheapest that does.
    const stacks = (await ledger.stacks.list()).length;
    process.stderr.write(`stackd: ${ledgerName(flags, database)} is at ledger schema ${ledger.schemaVersion} (${stacks} stacks)\n`);
    return 0;
  } finally {
    await ledger.close();
  }
}
