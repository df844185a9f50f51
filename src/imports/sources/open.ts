// The row source of each input shape (see contract.ts; the shapes are listed in src/model/formats.ts): a new shape is
// an entry here and its source.
import { CsvRowSource } from "./csv-source.ts";
import type { ImportFormat } from "../../model/formats.ts";
import { NdjsonRowSource } from "./ndjson-source.ts";
import type { ResumeState, RowSource, RowSourceOf, SourceOptions } from "./contract.ts";

const sources: Record<ImportFormat, RowSourceOf> = {
  csv: CsvRowSource,
  ndjson: NdjsonRowSource,
};

/** The row source of a file of `format`, resuming where `resume` says. */
export function openRowSource(format: ImportFormat, resume: ResumeState, options: SourceOptions): RowSource {
  return new sources[format](resume, options);
}
