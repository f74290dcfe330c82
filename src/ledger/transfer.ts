// The ledger as a stream of JSON lines: what `stackd ledger export` writes and
// `stackd ledger import` reads, whatever store is on either side.
import { z } from "zod";

/** The ledger's tables, in the order an export lists them. */
export const LEDGER_TABLES = ["stacks", "runs", "drift", "drift_checks", "previews", "meta", "deliveries"] as const;
/** One of LEDGER_TABLES. */
export type LedgerTable = (typeof LEDGER_TABLES)[number];

/** One row of one table, by column name, as the store holds it (JSON columns as their text). */
export interface LedgerRow {
  table: LedgerTable;
  row: Record<string, string | number | null>;
}

/** The version of the line format itself (not of the ledger's schema). */
export const TRANSFER_FORMAT = 1;

/** The first line: what wrote the export and at which schema. */
export const TransferHeader = z.strictObject({
  stackd: z.literal("ledger"),
  format: z.literal(TRANSFER_FORMAT),
  schema: z.number().int().positive(),
  exportedAt: z.string(),
});

/** Every line after the first but the last. */
export const TransferRow = z.strictObject({
  table: z.enum(LEDGER_TABLES),
  row: z.record(z.string().regex(/^[a-z_]+$/, "a column name"), z.union([z.string(), z.number(), z.null()])),
});

/** The last line: how many rows of each table came before it, so a cut-off export is recognised. */
export const TransferEnd = z.strictObject({
  end: z.literal(true),
  counts: z.record(z.enum(LEDGER_TABLES), z.number().int().nonnegative()),
});

/** Filling an empty ledger from an export: rows go in one transaction, kept only on commit. */
export interface LedgerRestore {
  add(row: LedgerRow): void;
  /** Rows added so far, per table. */
  counts(): Record<string, number>;
  /** Keeps everything added; the count per table. */
  commit(): Record<string, number>;
  /** Keeps nothing. */
  abort(): void;
}
