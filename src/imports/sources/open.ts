// The row source of each input shape (see row-source.ts; the shapes are listed in src/model/formats.ts).
import type { JobRow } from "../../db/queries/jobs.ts";
import { CsvRowSource } from "./csv-source.ts";
import type { ImportFormat } from "../../model/formats.ts";
import type { JobOptions } from "../jobs/job.ts";
import { NdjsonRowSource } from "./ndjson-source.ts";
import type { RowSource } from "./contract.ts";

const sources: Record<ImportFormat, new (job: JobRow, options: JobOptions) => RowSource> = {
  csv: CsvRowSource,
  ndjson: NdjsonRowSource,
};

/** The job's row source, resuming from its checkpoint. */
export function openRowSource(job: JobRow, options: JobOptions): RowSource {
  return new sources[job.format](job, options);
}
