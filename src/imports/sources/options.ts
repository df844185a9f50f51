// The options an upload stores with its job: how its rows are read (the row sources take them).
import type { BlankCells, OnInvalid } from "../../catalog/product.ts";
import type { Charset } from "../../model/charsets.ts";
import type { ImportMode } from "../../model/import-mode.ts";
import type { CsvDelimiter } from "../read/csv.ts";
import type { RowRules } from "./rows.ts";

/** The options an upload stores with its job, as the consumer reads them. */
export interface JobOptions {
  /** Currency for rows without one (ISO 4217). */
  currency: string;
  /** CSV delimiter; null = detected from the header line. */
  delimiter: CsvDelimiter | null;
  /** Absent on jobs stored before it existed: "clear". */
  blankCells?: BlankCells;
  /** Absent on jobs stored before it existed: "reject_row". */
  onInvalid?: OnInvalid;
  /** The charset the upload declared; null, or absent on jobs stored before it existed: none (the encoding is detected). */
  charset?: Charset | null;
  /** Absent on jobs stored before it existed: "upsert". */
  mode?: ImportMode;
  /** Replace mode's max_archive as given (a count, or a percentage such as "20%"); absent in upsert mode. */
  maxArchive?: string;
}

/** The rules rows of the job are read with. */
export function rowRules(options: JobOptions): RowRules {
  return { currency: options.currency, blankCells: options.blankCells ?? "clear", onInvalid: options.onInvalid ?? "reject_row" };
}

/** The mode the job's file is applied in. */
export function importMode(options: JobOptions): ImportMode {
  return options.mode ?? "upsert";
}
