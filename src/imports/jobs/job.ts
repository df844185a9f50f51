// The import job as clients see it: one zod schema for the JSON (documented in OpenAPI) and its mapping.
import { z } from "zod";
import { type JobView, MAX_FAILURE_REASON_LENGTH } from "../../db/queries/jobs.ts";
import { jobKinds, jobStates, stateSummary } from "../../model/job-states.ts";
import { DEFAULT_MAX_ARCHIVE, importModes } from "../../model/import-mode.ts";
import { importFormats } from "../../model/formats.ts";
import { contentEncodings } from "../../model/content-encodings.ts";
import { blankCellsModes, onInvalidModes } from "../../catalog/product.ts";
import { columnMappingSchema, storedMapping } from "../sources/column-mapping.ts";
import { MAX_COLUMNS } from "../read/csv.ts";
import { charsets } from "../../model/charsets.ts";
import { ENCODING_SNIFF_BYTES, type TextEncoding, textEncodings } from "../read/encoding.ts";
import { type JobNote, jobNoteSchema, noteJson } from "../../model/job-notes.ts";
import { displayName, MAX_IGNORED_COLUMNS, MAX_NAME_LENGTH } from "../sources/header.ts";
import { importMode, type JobOptions, rowRules } from "../sources/options.ts";
import { presetNames, storedPreset } from "../sources/presets/index.ts";
import { shorten } from "../../text.ts";

export const jobOptionsSchema = z
  .object({
    currency: z.string().describe("Currency of new products whose row has none (ISO 4217)."),
    delimiter: z.enum([",", ";", "tab"]).nullable().describe("CSV delimiter as given in `delimiter=`; null = detected from the header line."),
    blank_cells: z.enum(blankCellsModes).describe("What a blank cell meant, as given in `blank_cells=`."),
    on_invalid: z.enum(onInvalidModes).describe("What an invalid field did to its row, as given in `on_invalid=`."),
    charset: z
      .enum(charsets)
      .nullable()
      .describe("The charset the upload's Content-Type declared (by its canonical name); null = none, the encoding is detected."),
    mode: z
      .enum(importModes)
      .describe("As given in `mode=`: `upsert` writes the file's rows; `replace` also archives every product the file did not mention."),
    max_archive: z
      .string()
      .nullable()
      .describe(`Replace mode's \`max_archive=\` (a count, or a percentage such as \`${DEFAULT_MAX_ARCHIVE}\`, the default); null in upsert mode.`),
  })
  .meta({ id: "ImportOptions" });

const timestamp = z.iso.datetime().nullable().describe("ISO 8601 UTC, or null while it has not happened.");
const count = (description: string) => z.int().min(0).describe(description);

export const jobResponseSchema = z
  .object({
    id: z.string(),
    kind: z
      .enum(jobKinds)
      .describe("`import`: the rows of an uploaded file; `revert`: a revert of the import `revert_of` (POST …/revert), which has no file."),
    revert_of: z.string().nullable().describe("For a revert job: the import it reverts; null otherwise."),
    status: z
      .enum(jobStates)
      .meta({ description: "Where the job stands; `x-enumDescriptions` describes each state.", "x-enumDescriptions": Object.fromEntries(jobStates.map((state) => [state, `A job ${stateSummary(state)}.`])) }),
    waiting_for: z
      .string()
      .nullable()
      .describe(
        "For a queued job: the job of the same tenant accepted just before it that has not finished yet. A tenant's imports apply " +
          "one at a time in the order they were accepted, so this job starts once that one (and every job before it) has finished. " +
          "Null when nothing is ahead of it, for a dry run (which writes nothing and never waits), and once the job has started.",
      ),
    format: z.enum(importFormats),
    file_name: z.string().nullable(),
    size_bytes: count("The file's size in bytes, as sent (compressed, for a compressed upload)."),
    content_encoding: z
      .enum(contentEncodings)
      .nullable()
      .describe(
        "How the file was compressed when sent (`gzip`), or null. A compressed file is stored as sent and inflated once, as the job's first step " +
          "(status `processing`), into a plain copy that the rows are read from and that is deleted when the job finishes.",
      ),
    inflated_bytes: z
      .int()
      .min(0)
      .nullable()
      .describe("A compressed file's size inflated, once the job has inflated it (at most MAX_INFLATED_BYTES, a deployment setting); null until then, and for a file sent uncompressed."),
    bytes_processed: count(
      "Bytes of the file read and committed so far (its checkpoint): of the inflated copy for a compressed upload (compare with inflated_bytes), else of the file as sent (size_bytes).",
    ),
    progress: z
      .number()
      .min(0)
      .max(1)
      .nullable()
      .describe(
        "bytes_processed as a fraction (0 to 1) of inflated_bytes for a compressed upload, else of size_bytes: how far the file has been read. 1 once completed; null while a compressed file is still being inflated (its size is not known yet).",
      ),
    rows_per_second: z
      .number()
      .min(0)
      .nullable()
      .describe("Rows per second of the job's last slice (the rows one queue invocation committed, over the time from its start to its last commit); null before the first commit."),
    eta_seconds: z
      .int()
      .min(0)
      .nullable()
      .describe(
        "For a processing job: the seconds left to read the rest of the file at the byte pace of its last slice (waits between slices not included); null otherwise, while the pace is not known, while replace mode counts or archives, and for a revert job.",
      ),
    dry_run: z.boolean().describe("Validated and counted only; no product was written."),
    options: jobOptionsSchema,
    profile: z
      .string()
      .nullable()
      .describe(
        "The saved mapping profile or the built-in preset the upload named (`profile=`), or null. The job keeps the mapping it resolved: a later change to the profile, or its deletion, does not change how this file is read.",
      ),
    // A union rather than .nullable(): the mapping's documented object type would otherwise hide the null.
    mapping: z
      .union([columnMappingSchema, z.null()])
      .describe(
        "The column mapping the file is read with (the profile's, with the entries of the upload's `mapping=` over it), or null: every column is read by its own name.",
      ),
    preset: z
      .enum(presetNames)
      .nullable()
      .describe(
        "The built-in preset the CSV file is read with (a platform's product export, see `profile=`): named by the upload, or " +
          "recognised from the header line when the upload named none; null when the file is read by its own column names " +
          "(or while the header has not been read).",
      ),
    preset_detected: z.boolean().describe("Whether `preset` was recognised from the header line rather than named by the upload."),
    total_rows: z.int().min(0).nullable().describe("Data rows in the file, known once processing completed."),
    processed_rows: count("Data rows processed so far (for a revert job: the products it has walked, reverted + archived + kept)."),
    created: count("Products created (in a dry run: that would be created)."),
    updated: count("Products changed (in a dry run: that would change)."),
    unchanged: count("Rows equal to the stored product, not written."),
    rejected_rows: count("Rows not imported because of errors."),
    skipped_rows: count(
      "Rows that are no product and were passed over: a Shopify image-only row, a WooCommerce parent, an empty spreadsheet row, and a Shopify variant without a SKU (with a warning). " +
        "processed_rows = created + updated + unchanged + rejected_rows + skipped_rows.",
    ),
    failed_rows: count(
      "Records of the file that were not imported and that the merchant can fix: rejected rows, and rows skipped for a reason to fix (a Shopify variant " +
        "without a SKU). Every one is kept, not only the first MAX_STORED_ERRORS: GET …/failed-rows returns them as uploaded, each with its problems, and POST …/retry imports them again.",
    ),
    error_count: count("Row errors found (a rejected row has one or more)."),
    warning_count: count(
      "Fields left out of imported rows because they were invalid (on_invalid=skip_field), and rows skipped for a reason to fix (`variant_without_sku`), each a warning. " +
        "Errors and warnings share one list, of which the first MAX_STORED_ERRORS (a deployment setting) are stored.",
    ),
    would_archive: z
      .int()
      .min(0)
      .nullable()
      .describe(
        "Replace mode: the products that are not archived and that the file did not mention (by SKU, on any row, rejected or skipped rows included), " +
          "counted once its last row is in: those archiving would set to `archived` (for a dry run: would have). Null in upsert mode and until counted.",
      ),
    archive_limit: z
      .int()
      .min(0)
      .nullable()
      .describe(
        "Replace mode: `max_archive` as a number of products (a percentage is taken of the tenant's products not archived once the file's rows are in, rounded down). " +
          "When would_archive is larger, the job stops in `needs_confirmation` before archiving anything. Null until counted.",
      ),
    archived: count(
      "Replace mode: products set to `archived` because the file did not mention them. After a confirmation it can be less than would_archive: " +
        "a product that an import applied after this file wrote (or, while this job waited, named) is kept. 0 in upsert mode. " +
        "A revert job: products the reverted import had created, archived (in a dry run: that would be).",
    ),
    reverted: count("A revert job: products given back the values they had before the import (in a dry run: that would be). 0 for an import."),
    kept: count(
      "A revert job: products left as they are because they changed after the import; each is listed among the job's errors as a warning " +
        "`changed_since_import` naming its SKU (the first MAX_STORED_ERRORS). 0 for an import.",
    ),
    keeps_revert_data: z
      .boolean()
      .describe(
        "The import kept the previous values of the products it changed, in the same batches as the changes, so POST …/revert can undo it " +
          "until JOB_RETENTION_DAYS after it finished (a deployment setting, KEEP_REVERT_DATA, decides for new imports). False for a dry run and a revert.",
      ),
    ignored_columns: z
      .array(z.string())
      .describe(
        `Columns of the CSV header (keys of the NDJSON objects) that are not product fields: each once whatever its case, ` +
          `as first spelled, cut to ${MAX_NAME_LENGTH} characters; at most ${MAX_IGNORED_COLUMNS}.`,
      ),
    ignored_columns_omitted: count(
      `Further ignored names the file had beyond those ignored_columns lists, each counted once; counted up to ${MAX_COLUMNS} ignored names in all (a CSV header has no more).`,
    ),
    encoding: z
      .enum(textEncodings)
      .nullable()
      .describe(
        "The text encoding the file is read in: from its byte order mark, else the declared charset (iso-8859-1 is read as windows-1252), " +
          `else utf-8, or windows-1252 when the file's first ${ENCODING_SNIFF_BYTES / 1024} KiB are Windows-1252 text with no UTF-8 character beyond ASCII. ` +
          "Null until processing has read the file's start.",
      ),
    notes: z
      .array(jobNoteSchema)
      .describe(
        "What to know of how the file was read that is neither a row's error nor a failure: a file with a header but no rows (`no_rows`), " +
          "a declared charset the file's bytes contradict (`charset_mismatch`, naming the charset the file was read in). Each code at most once; empty when there is nothing to say.",
      ),
    failure_reason: z
      .string()
      .nullable()
      .describe(`Why the job failed, naming the line where there is one; at most ${MAX_FAILURE_REASON_LENGTH} characters. Null unless failed.`),
    created_at: z.iso.datetime().describe("ISO 8601 UTC."),
    queued_at: timestamp,
    started_at: timestamp,
    finished_at: timestamp,
    confirmed_at: z.iso
      .datetime()
      .nullable()
      .describe("When POST …/confirm let a job in `needs_confirmation` archive (ISO 8601 UTC); null if never."),
    cancel_requested_at: z.iso
      .datetime()
      .nullable()
      .describe(
        "When POST …/cancel was asked (ISO 8601 UTC); null if never. A processing job stops at its next chunk boundary and then becomes " +
          "`canceled` (a request is pending while the status is still `processing`); a job that was not processing is canceled at once.",
      ),
    canceled_at: z.iso.datetime().nullable().describe("When the job became `canceled` (ISO 8601 UTC); null unless canceled."),
    duration_ms: z.int().min(0).nullable().describe("finished_at − started_at; null until finished."),
    retry_of: z.string().nullable().describe("The job whose failed rows this job imports again (made by POST …/retry); null for an upload."),
    feed_id: z.string().nullable().describe("The scheduled feed whose fetch made this job (see /api/v1/feeds); null for an upload."),
    retries: z
      .object({
        count: count("Jobs made from this job's failed rows by POST …/retry."),
        latest: z.string().nullable().describe("The latest of them; null if none."),
      })
      .describe("The retries of this job's failed rows."),
    links: z.object({
      self: z.string(),
      errors: z.string(),
      failed_rows: z
        .string()
        .nullable()
        .describe("The file's records that were not imported, as uploaded, each with its problems (GET …/failed-rows); null for a revert job, which reads no file."),
    }),
  })
  .meta({ id: "ImportJob" });

export type JobJson = z.output<typeof jobResponseSchema>;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

type Progress = Pick<JobJson, "bytes_processed" | "progress" | "rows_per_second" | "eta_seconds">;

/** How far the job has read its file, and at what pace (see the slice_* columns): all from the stored job, none from the clock. */
function progressJson(job: JobView): Progress {
  const bytes = job.checkpointByte;
  // A compressed upload's rows are read from its inflated copy, whose size is known once the inflate is done.
  const size = job.contentEncoding === null ? job.sizeBytes : job.inflatedBytes;
  const progress = job.status === "completed" ? 1 : size === null ? null : size === 0 ? 0 : Math.min(1, bytes / size);
  const measured = job.sliceMs !== null && job.sliceMs > 0 && job.sliceRows !== null && job.sliceStartByte !== null;
  const rowsPerSecond = measured ? round2((job.sliceRows! * 1000) / job.sliceMs!) : null;
  const bytesPerMs = measured ? (bytes - job.sliceStartByte!) / job.sliceMs! : 0;
  const running = job.status === "processing" && job.cancelRequestedAt === null && job.replacePhase === null;
  const eta = running && size !== null && bytesPerMs > 0 ? Math.ceil(Math.max(0, size - bytes) / bytesPerMs / 1000) : null;
  return { bytes_processed: bytes, progress: progress === null ? null : Math.round(progress * 10_000) / 10_000, rows_per_second: rowsPerSecond, eta_seconds: eta };
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/** The options as `delimiter=` names them: a tab is `tab`, as a client sent it. */
export function optionsJson(options: JobOptions): z.output<typeof jobOptionsSchema> {
  const rules = rowRules(options);
  return {
    currency: options.currency,
    delimiter: options.delimiter === "\t" ? "tab" : options.delimiter,
    blank_cells: rules.blankCells,
    on_invalid: rules.onInvalid,
    charset: options.charset ?? null,
    mode: importMode(options),
    max_archive: importMode(options) === "replace" ? (options.maxArchive ?? DEFAULT_MAX_ARCHIVE) : null,
  };
}

export function jobPath(id: string): string {
  return `/api/v1/products/import/${id}`;
}

export function toJobJson(job: JobView): JobJson {
  return {
    id: job.id,
    kind: job.kind,
    revert_of: job.revertOf,
    status: job.status,
    waiting_for: job.waitingFor,
    format: job.format,
    file_name: job.fileName,
    size_bytes: job.sizeBytes,
    content_encoding: job.contentEncoding,
    inflated_bytes: job.inflatedBytes,
    ...progressJson(job),
    dry_run: job.dryRun,
    options: optionsJson(JSON.parse(job.options) as JobOptions),
    profile: job.profile,
    mapping: storedMapping(job),
    preset: storedPreset(job),
    // A named preset is the profile the upload named; a recognised one was named by nobody.
    preset_detected: job.preset !== null && job.profile !== job.preset,
    total_rows: job.totalRows,
    processed_rows: job.processedRows,
    created: job.created,
    updated: job.updated,
    unchanged: job.unchanged,
    rejected_rows: job.rejectedRows,
    skipped_rows: job.skippedRows,
    failed_rows: job.failedRecords,
    error_count: job.errorCount,
    warning_count: job.warningCount,
    // Partial while the count runs.
    would_archive: job.replacePhase === "counting" ? null : job.wouldArchive,
    archive_limit: job.archiveLimit,
    archived: job.archived,
    reverted: job.reverted,
    kept: job.kept,
    keeps_revert_data: job.keepRevisions,
    // Cut again on the way out: jobs stored before the list was bounded keep their longer lists.
    ignored_columns: (JSON.parse(job.ignoredColumns) as string[]).slice(0, MAX_IGNORED_COLUMNS).map(displayName),
    ignored_columns_omitted: job.ignoredColumnsOmitted,
    encoding: job.encoding as TextEncoding | null,
    notes: (JSON.parse(job.notes) as JobNote[]).map(noteJson),
    failure_reason: job.failureReason === null ? null : shorten(job.failureReason, MAX_FAILURE_REASON_LENGTH),
    created_at: new Date(job.createdAt).toISOString(),
    queued_at: iso(job.queuedAt),
    started_at: iso(job.startedAt),
    finished_at: iso(job.finishedAt),
    confirmed_at: iso(job.confirmedAt),
    cancel_requested_at: iso(job.cancelRequestedAt),
    canceled_at: iso(job.canceledAt),
    duration_ms: job.finishedAt !== null && job.startedAt !== null ? job.finishedAt - job.startedAt : null,
    retry_of: job.retryOf,
    feed_id: job.feedId,
    retries: { count: job.retryCount, latest: job.latestRetry },
    links: { self: jobPath(job.id), errors: `${jobPath(job.id)}/errors`, failed_rows: job.kind === "revert" ? null : `${jobPath(job.id)}/failed-rows` },
  };
}
