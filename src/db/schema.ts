// The single source of the database schema: drizzle-kit generates migrations/ from this file.
// Timestamps are integer milliseconds since the epoch (UTC); the API renders them as ISO 8601.
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { charsets } from "../model/charsets.ts";
import { contentEncodings } from "../model/content-encodings.ts";
import { importFormats } from "../model/formats.ts";
import { jobKinds, jobStates, lineStates, statusIn, stoppedStates } from "../model/job-states.ts";
import { replacePhases } from "../model/import-mode.ts";
import { productStatuses } from "../model/product-status.ts";
import { rowErrorCodes } from "../model/row-error-codes.ts";
import { uploadSessionStates } from "../model/upload-session.ts";
import { credentialTypes, feedStates, fetchOutcomes, fetchTriggers } from "../model/feeds.ts";
import { announcedStates, deliveryStates } from "../model/webhook-events.ts";

export const tenants = sqliteTable(
  "tenants",
  {
    id: text("id").primaryKey(),
    slug: text("slug").notNull().unique(),
    createdAt: integer("created_at").notNull(),
    // When the sweeper last compared the tenant's job counters with a recount (0: never); it checks the oldest first.
    countersCheckedAt: integer("counters_checked_at").notNull().default(0),
  },
  (t) => [index("tenants_counters_checked").on(t.countersCheckedAt)],
);

export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    name: text("name").notNull(),
    // The first characters of the key, safe to display; the key itself is never stored.
    prefix: text("prefix").notNull(),
    keyHash: text("key_hash").notNull(),
    scopes: text("scopes").notNull(),
    createdAt: integer("created_at").notNull(),
    revokedAt: integer("revoked_at"),
  },
  (t) => [uniqueIndex("api_keys_key_hash").on(t.keyHash), index("api_keys_tenant").on(t.tenantId)],
);

// The product fields' columns are those of the field table (src/catalog/fields.ts), which a test holds this table to.
export const products = sqliteTable(
  "products",
  {
    tenantId: text("tenant_id").notNull(),
    // Lower-cased sku: SKUs are unique per tenant case-insensitively.
    skuKey: text("sku_key").notNull(),
    sku: text("sku").notNull(),
    name: text("name").notNull(),
    description: text("description"),
    priceMinor: integer("price_minor").notNull(),
    currency: text("currency").notNull(),
    stock: integer("stock").notNull(),
    status: text("status", { enum: productStatuses }).notNull(),
    brand: text("brand"),
    category: text("category"),
    barcode: text("barcode"),
    imageUrl: text("image_url"),
    tags: text("tags").notNull().default("[]"),
    // The variants of one product share a group (a Shopify handle, a WooCommerce parent SKU, or a `group` column).
    variantGroup: text("variant_group"),
    // JSON object: option name → value of a variant ({"Color": "Green", "Size": "M"}).
    options: text("options").notNull().default("{}"),
    // Set by the import's upsert on the rows it inserts, and read back as `excluded.keep_mask` when a row updates a
    // product: bit i = the row leaves the i-th field of the field table alone (src/catalog/fields.ts). Its stored value
    // means nothing.
    keepMask: integer("keep_mask").notNull().default(0),
    // The write sequence (import_jobs.write_seq) of the last import that wrote this product, or that named it in a file
    // while stamping mentions (a replace-mode import, or any import while one waits for confirmation). A replace-mode
    // import archives the products whose stamp is older than its own. Null: written before stamps existed.
    seenSeq: integer("seen_seq"),
    // 1 when inserted, + 1 on every write that changes the product (an import's update, an archive, a revert): a
    // revert compares it with the version an import left (import_revisions.version) to tell "changed since".
    version: integer("version").notNull().default(1),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.skuKey] }),
    // Incremental sync pages by (updated_at, sku_key): with sku_key in the index, rows come out in page order and a
    // cursor seeks straight to its place instead of every matching row being sorted.
    index("products_tenant_updated").on(t.tenantId, t.updatedAt, t.skuKey),
    // A group's products, in SKU order. Partial: a product without a group (most of a catalog) costs no index write,
    // and `variant_group = ?` implies the index's condition, so a group's listing still uses it.
    index("products_tenant_group").on(t.tenantId, t.variantGroup, t.skuKey).where(sql`${t.variantGroup} IS NOT NULL`),
  ],
);

/** The jobs in a tenant's line (see import_jobs_tenant_line); `table` qualifies the columns, as in a correlated subquery. */
export function lineCondition(table?: string): string {
  const column = (name: string) => (table ? `${table}.${name}` : name);
  return `${statusIn(lineStates, column("status"))} AND ${column("line_seq")} IS NOT NULL`;
}

/**
 * A revert that stands (not a dry run, not stopped): an import has at most one. The query that looks for it repeats this
 * condition word for word, which is what lets SQLite use the partial unique index.
 */
export function standingRevertCondition(): string {
  return `revert_of IS NOT NULL AND dry_run = 0 AND NOT ${statusIn(stoppedStates)}`;
}

/** A job in a state that is announced (webhook events) that has not been announced; queries repeat it word for word. */
export function unannouncedCondition(): string {
  return `${statusIn(announcedStates)} AND announced_status IS NOT status`;
}

export const importJobs = sqliteTable(
  "import_jobs",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    status: text("status", { enum: jobStates }).notNull(),
    // `import`: a file's rows; `revert`: undoes the import `revert_of` from its revisions (src/imports/jobs/revert.ts).
    // A revert job has no file: its object key is empty and marked deleted from the start.
    kind: text("kind", { enum: jobKinds }).notNull().default("import"),
    revertOf: text("revert_of"),
    // The import keeps the previous values of the products it changes (import_revisions), so it can be reverted;
    // decided when it is created (KEEP_REVERT_DATA). False for a dry run, a revert, and jobs stored before revisions.
    keepRevisions: integer("keep_revisions", { mode: "boolean" }).notNull().default(false),
    // A revert job: products given back their previous values, products the import created that it archived (in
    // `archived`), and products left as they are because they changed since the import (`kept`); its checkpoint, the
    // last SKU key of the import's revisions done.
    reverted: integer("reverted").notNull().default(0),
    kept: integer("kept").notNull().default(0),
    revertCursor: text("revert_cursor").notNull().default(""),
    format: text("format", { enum: importFormats }).notNull(),
    fileName: text("file_name"),
    objectKey: text("object_key").notNull(),
    // The stored file's size, as sent (compressed, for a compressed upload).
    sizeBytes: integer("size_bytes").notNull(),
    // How the stored file is compressed (src/model/content-encodings.ts), null when it is not: whoever creates a job
    // sets it. Such a file is inflated once into a plain copy before its rows are read (src/imports/jobs/inflate.ts).
    contentEncoding: text("content_encoding", { enum: contentEncodings }),
    // The inflated copy's size, once the file has been inflated; null for a plain file.
    inflatedBytes: integer("inflated_bytes"),
    // JSON: the inflate's checkpoint while it runs (the copy's R2 multipart upload, its parts' etags, where the decoder
    // resumes); null before and after. Not shown by the API, nor selected by the queries that show jobs.
    inflateCheckpoint: text("inflate_checkpoint"),
    dryRun: integer("dry_run", { mode: "boolean" }).notNull(),
    // JSON: the options the client asked for (currency, delimiter).
    options: text("options").notNull(),
    // Checkpoint: where the next unprocessed record starts. Guards every write (exactly-once effect).
    checkpointByte: integer("cursor_byte").notNull().default(0),
    checkpointLine: integer("cursor_line").notNull().default(1),
    totalRows: integer("total_rows"),
    processedRows: integer("processed_rows").notNull().default(0),
    created: integer("created").notNull().default(0),
    updated: integer("updated").notNull().default(0),
    unchanged: integer("unchanged").notNull().default(0),
    // Rows rejected (each with one or more row errors); processed = created + updated + unchanged + rejected.
    rejectedRows: integer("rejected_rows").notNull().default(0),
    errorCount: integer("error_count").notNull().default(0),
    // JSON: the ignored column names listed (bounded, see IgnoredColumns), and whether more were left out.
    ignoredColumns: text("ignored_columns").notNull().default("[]"),
    // How many more distinct ignored names the file had than ignored_columns lists.
    ignoredColumnsOmitted: integer("ignored_columns_omitted").notNull().default(0),
    // JSON: hashes of the omitted names counted so far, so a continuation does not count one twice.
    ignoredOmittedKeys: text("ignored_omitted_keys").notNull().default("[]"),
    // Rows the file has that are no product (a Shopify image row, a WooCommerce parent, an empty spreadsheet row).
    skippedRows: integer("skipped_rows").notNull().default(0),
    // Row problems recorded as warnings (the row was imported without the field), counted apart from errors.
    warningCount: integer("warning_count").notNull().default(0),
    // The text encoding the file was read in; null until processing has read its first bytes.
    encoding: text("encoding"),
    // JSON: what the merchant should know of how the file was read (a file without rows, a charset its bytes
    // contradict), each code once; see job-notes.ts.
    notes: text("notes").notNull().default("[]"),
    // The saved profile or built-in preset the request named, the preset applied (named or detected from the
    // header), and JSON: the column mapping the file was read with.
    profile: text("profile"),
    preset: text("preset"),
    mapping: text("mapping"),
    // The row source's own state, which it alone writes and reads back (JSON: a CSV's header mapping, delimiter,
    // preset and a Shopify product's carried cells; see src/imports/sources/contract.ts). Committed with the
    // checkpoint in one guarded statement; null until the source saved any.
    sourceState: text("source_state"),
    // The last slice's pace (a slice: one invocation's run over the file): when it started, the checkpoint it started
    // from, the rows it committed and the time from its start to its last commit. Written by each chunk's guarded job
    // update (src/imports/commit/write.ts), so it costs no round trip of its own; null before the first chunk commits.
    sliceStartedAt: integer("slice_started_at"),
    sliceStartByte: integer("slice_start_byte"),
    sliceRows: integer("slice_rows"),
    sliceMs: integer("slice_ms"),
    failureReason: text("failure_reason"),
    // Invocations that ended in a transient error (the queue retries them); reported when retries run out.
    failedAttempts: integer("failed_attempts").notNull().default(0),
    createdAt: integer("created_at").notNull(),
    queuedAt: integer("queued_at"),
    // A writing job's place in its tenant's line, given by D1 when the upload is accepted (one writer, so no two
    // jobs of a tenant get the same and a later acceptance gets a larger one, whatever the Workers' clocks say);
    // null for a dry run, which writes nothing and waits for nobody. See src/imports/jobs/lifecycle.ts.
    lineSeq: integer("line_seq"),
    startedAt: integer("started_at"),
    // Given when a writing job first starts: larger than that of every job of its tenant that started before it (their
    // largest + 1), and at least the start time in milliseconds, so that it keeps growing after every earlier job has
    // passed its retention and been deleted. A product's seen_seq therefore says which import wrote it last. Null for a
    // dry run.
    writeSeq: integer("write_seq"),
    // The job stamps every product its file names, not only those it writes (a replace-mode import always; any other
    // when it started while one of its tenant's replace-mode imports waited to archive after it, for a confirmation or
    // behind it in the line, so that such a feed protects what it names from that archiving). Decided when it starts.
    stampMentions: integer("stamp_mentions", { mode: "boolean" }).notNull().default(false),
    // Replace mode after the last row: the phase running (null: none, or not replace mode) and its checkpoint, the last
    // SKU key done; each phase's statements are guarded by both.
    replacePhase: text("replace_phase", { enum: replacePhases }),
    replaceCursor: text("replace_cursor").notNull().default(""),
    // Products not archived that the file did not mention (null until counting starts), of catalog_products not
    // archived in all; the limit max_archive came to; products archived so far.
    wouldArchive: integer("would_archive"),
    catalogProducts: integer("catalog_products").notNull().default(0),
    archiveLimit: integer("archive_limit"),
    archived: integer("archived").notNull().default(0),
    confirmedAt: integer("confirmed_at"),
    // POST …/cancel on a processing job: every guarded write of the job checks that this is null, so nothing commits
    // after it, and the consumer ends the job (processing → canceled) at its next boundary. canceled_at: when it ended.
    cancelRequestedAt: integer("cancel_requested_at"),
    canceledAt: integer("canceled_at"),
    finishedAt: integer("finished_at"),
    // Records of the file that were not imported and that the merchant can fix (rejected rows, rows skipped for a reason
    // to fix), each kept in import_failed_records; counted with the chunk that found them.
    failedRecords: integer("failed_records").notNull().default(0),
    // Where the file's first record starts (after a byte order mark, an Excel sep line and a CSV header line): the
    // failed-rows file starts with these bytes. Null until the row source has read them.
    headerBytes: integer("header_bytes"),
    // A job made by POST …/retry from the failed rows of this one; the retries made from this job, and the latest.
    retryOf: text("retry_of"),
    retryCount: integer("retry_count").notNull().default(0),
    latestRetry: text("latest_retry"),
    // The scheduled feed whose fetch made the job (src/feeds/run.ts); null for an upload.
    feedId: text("feed_id"),
    // Last time the job made progress; the sweeper fails non-terminal jobs that stop moving.
    heartbeatAt: integer("heartbeat_at").notNull(),
    objectDeletedAt: integer("object_deleted_at"),
    // The last state whose webhook event was announced (src/imports/jobs/announce.ts). The state change and the announce are
    // not one statement: the sweeper announces again a job whose announce was lost (announceCondition).
    announcedStatus: text("announced_status", { enum: jobStates }),
  },
  (t) => [
    // Newest-first listing and the status summary's recent slice.
    index("import_jobs_tenant_recent").on(t.tenantId, sql`${t.createdAt} DESC`, sql`${t.id} DESC`),
    // Covers the status summary's grouped aggregate without touching the table.
    index("import_jobs_tenant_summary").on(t.tenantId, t.status, t.errorCount, t.warningCount, t.startedAt, t.finishedAt),
    index("import_jobs_status_heartbeat").on(t.status, t.heartbeatAt),
    index("import_jobs_finished").on(t.finishedAt),
    // The tenant's line: its writing jobs that have not let go, in acceptance order. The queries that walk it repeat
    // this condition word for word (lineCondition), which is what lets SQLite use a partial index.
    index("import_jobs_tenant_line").on(t.tenantId, t.lineSeq).where(sql.raw(lineCondition())),
    // The status summary's recent completed jobs (their durations), newest finished first: a bounded walk of one
    // tenant's completed jobs, which the partial condition keeps apart from the rest.
    index("import_jobs_tenant_completed").on(t.tenantId, t.finishedAt, t.startedAt).where(sql`${t.status} = 'completed'`),
    // The tenant's oldest queued job, one seek: the status summary's backlog signal.
    index("import_jobs_tenant_queued").on(t.tenantId, t.queuedAt).where(sql`${t.status} = 'queued'`),
    // The tenant's largest write sequence, one seek as a job starts; and the job a product's stamp names, one seek per
    // product an import writes (the revisions trigger).
    index("import_jobs_tenant_write_seq").on(t.tenantId, t.writeSeq).where(sql`${t.writeSeq} IS NOT NULL`),
    // An import is reverted once: a second standing revert of it is refused by this index.
    uniqueIndex("import_jobs_revert_of").on(t.revertOf).where(sql.raw(standingRevertCondition())),
    // Every revert of an import, the stopped ones with how far they came: one seek as a revert is asked for.
    index("import_jobs_reverts").on(t.revertOf, t.revertCursor).where(sql`${t.revertOf} IS NOT NULL`),
    // Jobs whose current state has not been announced yet: what the sweeper announces again (few, one seek).
    index("import_jobs_unannounced").on(t.heartbeatAt).where(sql.raw(unannouncedCondition())),
  ],
);

// What an import that keeps revert data (import_jobs.keep_revisions) changed: per product, its values before the
// import's first write (JSON of the stored columns; null when the import created it) and its version after the import's
// last write. Triggers on products write it (migration 0019_revert_imports), inside the import's guarded upsert, so a
// redelivered or crashed chunk records exactly what it wrote; a product the import left unchanged gets no row. Kept
// until the job's retention ends: the sweeper purges them in bounded chunks before it deletes the job. The table is
// WITHOUT ROWID (added to its migration by hand): one b-tree write per revision.
export const importRevisions = sqliteTable(
  "import_revisions",
  {
    jobId: text("job_id").notNull(),
    skuKey: text("sku_key").notNull(),
    previous: text("previous"),
    version: integer("version").notNull(),
  },
  (t) => [primaryKey({ columns: [t.jobId, t.skuKey] })],
);

// What the status summary reports, kept per tenant and job state so that reading it costs the same at any number of
// jobs: how many jobs are in the state, their error_count, warning_count and processed_rows summed, and, over completed jobs with
// both times, finished_at − started_at summed and counted. Triggers on import_jobs keep it (migration
// 0015_import_job_counters): they run inside the statement that inserts, moves, updates or deletes a job, so every
// write path counts, a guarded statement that changes nothing counts nothing, and a redelivery cannot count twice.
// The sweeper compares it with a recount now and then (see src/imports/jobs/counter-audit.ts).
export const importJobCounters = sqliteTable(
  "import_job_counters",
  {
    tenantId: text("tenant_id").notNull(),
    status: text("status", { enum: jobStates }).notNull(),
    jobs: integer("jobs").notNull().default(0),
    errors: integer("errors").notNull().default(0),
    warnings: integer("warnings").notNull().default(0),
    durationSum: integer("duration_sum").notNull().default(0),
    durationCount: integer("duration_count").notNull().default(0),
    // processed_rows summed (the rows the tenant's jobs have read; migration 0017_job_progress adds it to the triggers).
    processedRows: integer("processed_rows").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.status] })],
);

export const importErrors = sqliteTable(
  "import_errors",
  {
    jobId: text("job_id").notNull(),
    // Ordinal of the error within its job; rows are processed in file order, so this is line order.
    seq: integer("seq").notNull(),
    line: integer("line").notNull(),
    column: text("column"),
    // One of the catalog's codes (model/row-error-codes.ts): a type only, SQLite stores the text unchecked.
    code: text("code", { enum: rowErrorCodes }).notNull(),
    message: text("message").notNull(),
    value: text("value"),
    // "error": the row was rejected; "warning": it was imported without the field (on_invalid=skip_field).
    severity: text("severity", { enum: ["error", "warning"] }).notNull().default("error"),
  },
  (t) => [primaryKey({ columns: [t.jobId, t.seq] })],
);

// The records of a job's file that were not imported and that the merchant can fix: a rejected row, or one skipped
// for a reason to fix (a Shopify variant without a SKU). Every one, not only the first MAX_STORED_ERRORS: written in the
// chunk's guarded batch, they make GET …/failed-rows (the records as uploaded, each with its problems) and POST
// …/retry. The sweeper purges them, in bounded passes, before it deletes their job.
export const importFailedRecords = sqliteTable(
  "import_failed_records",
  {
    jobId: text("job_id").notNull(),
    // The record's bytes in the imported file (a compressed file's inflated copy): [byte_start, byte_end), its line break included.
    byteStart: integer("byte_start").notNull(),
    byteEnd: integer("byte_end").notNull(),
    line: integer("line").notNull(),
    // A record whose product cells come from another (a Shopify variant, from its handle's first row): that record,
    // which the failed-rows file carries along as context; null when there is none.
    contextStart: integer("context_start"),
    contextEnd: integer("context_end"),
    contextLine: integer("context_line"),
    // JSON: the record's problems in column order, [[column, code, message], …] (column null for the row as a whole).
    problems: text("problems").notNull(),
  },
  (t) => [primaryKey({ columns: [t.jobId, t.byteStart] })],
);

// The SKUs a replace-mode dry run's file names (a dry run stamps no product): counted against the catalog after the
// last row, then purged in bounded chunks (the sweeper purges what a failed dry run left).
export const importMentions = sqliteTable(
  "import_mentions",
  {
    jobId: text("job_id").notNull(),
    skuKey: text("sku_key").notNull(),
  },
  (t) => [primaryKey({ columns: [t.jobId, t.skuKey] })],
);

// Saved column mappings per tenant, used by name with `profile=`.
export const importProfiles = sqliteTable(
  "import_profiles",
  {
    tenantId: text("tenant_id").notNull(),
    name: text("name").notNull(),
    // JSON object: the file's column name (or NDJSON key) → product field.
    mapping: text("mapping").notNull(),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.name] })],
);

export const idempotencyKeys = sqliteTable(
  "idempotency_keys",
  {
    tenantId: text("tenant_id").notNull(),
    key: text("key").notNull(),
    // SHA-256 of what the request says before its body is read (type, length, file name, options); the column keeps
    // its first name.
    requestDigest: text("fingerprint").notNull(),
    // Null while the first request is still being accepted.
    responseStatus: integer("response_status"),
    responseBody: text("response_body"),
    // SHA-256 of the uploaded file's bytes, known once the body has been read: a repeat is replayed only with the same
    // content. Null while the first request is being accepted, and for a request without content to hash.
    contentHash: text("content_hash"),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.key] }), index("idempotency_keys_expires").on(t.expiresAt)],
);

// A file sent in parts (src/imports/jobs/upload-session.ts): an R2 multipart upload until it is completed into a job.
export const uploadSessions = sqliteTable(
  "upload_sessions",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    status: text("status", { enum: uploadSessionStates }).notNull(),
    // The id of the job the session becomes, chosen when it opens: the job is inserted under it once, however often
    // the session is completed. The R2 object is the job's file, at the key a direct upload's would have.
    jobId: text("job_id").notNull(),
    objectKey: text("object_key").notNull(),
    r2UploadId: text("r2_upload_id").notNull(),
    format: text("format", { enum: importFormats }).notNull(),
    fileName: text("file_name").notNull(),
    charset: text("charset", { enum: charsets }),
    contentEncoding: text("content_encoding", { enum: contentEncodings }),
    sizeBytes: integer("size_bytes").notNull(),
    partSize: integer("part_size").notNull(),
    partCount: integer("part_count").notNull(),
    // SHA-256 of the completion's options, so that a repeated completion is answered with the job only when it asks
    // for the same; set when the completion is claimed.
    completionDigest: text("completion_digest"),
    // When the completion was claimed: a claim this old was lost with its request, and another may take it over.
    claimedAt: integer("claimed_at"),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
  },
  (t) => [
    // A tenant's sessions by state: the count of open sessions a new one is checked against.
    index("upload_sessions_tenant_status").on(t.tenantId, t.status),
    index("upload_sessions_expires").on(t.expiresAt),
  ],
);

// The parts of a session received so far (R2 keeps them too, but lists them to nobody): what a resuming client is told.
export const uploadParts = sqliteTable(
  "upload_parts",
  {
    sessionId: text("session_id").notNull(),
    partNumber: integer("part_number").notNull(),
    size: integer("size").notNull(),
    etag: text("etag").notNull(),
    uploadedAt: integer("uploaded_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.sessionId, t.partNumber] })],
);

// A URL a tenant's products are fetched from on a schedule (src/feeds/): each fetch that brings a changed file becomes an
// import job as an upload would.
export const feeds = sqliteTable(
  "feeds",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    name: text("name"),
    url: text("url").notNull(),
    // One of the two: every so many minutes, or daily at "HH:MM" UTC.
    everyMinutes: integer("every_minutes"),
    dailyAt: text("daily_at"),
    // JSON: the upload options as given, by their upload names and in the upload's text form (re-read by the upload's
    // schema at every fetch, so that a feed's job is made from exactly what an upload with them would be).
    uploadOptions: text("upload_options").notNull(),
    // The file's format and charset when given; null: from each response's Content-Type (the format also from the URL).
    format: text("format", { enum: importFormats }),
    charset: text("charset", { enum: charsets }),
    // What the credentials are (shown) and the credentials themselves, sealed (src/crypto/secret-box.ts, never shown).
    credentialType: text("credential_type", { enum: credentialTypes }),
    credentialHeader: text("credential_header"),
    sealedCredentials: text("sealed_credentials"),
    status: text("status", { enum: feedStates }).notNull(),
    pausedReason: text("paused_reason"),
    // Failed fetches in a row; FEED_PAUSE_AFTER_FAILURES of them pause the feed.
    consecutiveFailures: integer("consecutive_failures").notNull().default(0),
    // The due slot of the next scheduled fetch; a run claims it by moving it on (compare-and-set).
    nextRunAt: integer("next_run_at").notNull(),
    // Validators of the last fetched file, sent back as If-None-Match / If-Modified-Since.
    etag: text("etag"),
    lastModified: text("last_modified"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    index("feeds_tenant_recent").on(t.tenantId, sql`${t.createdAt} DESC`, sql`${t.id} DESC`),
    // The due feeds, oldest slot first: one range scan per cron run.
    index("feeds_due").on(t.nextRunAt).where(sql`${t.status} = 'active'`),
  ],
);

// Each fetch of a feed, as its history shows it. A scheduled fetch's id is derived from its feed and due slot, so a cron
// that runs twice for one slot inserts one row (the primary key) and makes one job.
export const feedFetches = sqliteTable(
  "feed_fetches",
  {
    id: text("id").primaryKey(),
    feedId: text("feed_id").notNull(),
    tenantId: text("tenant_id").notNull(),
    trigger: text("trigger", { enum: fetchTriggers }).notNull(),
    outcome: text("outcome", { enum: fetchOutcomes }).notNull(),
    httpStatus: integer("http_status"),
    bytes: integer("bytes"),
    jobId: text("job_id"),
    reason: text("reason"),
    startedAt: integer("started_at").notNull(),
    finishedAt: integer("finished_at"),
  },
  (t) => [
    index("feed_fetches_feed_recent").on(t.feedId, sql`${t.startedAt} DESC`, sql`${t.id} DESC`),
    // Fetches still running, oldest first: the sweeper fails those the Worker's end cut off.
    index("feed_fetches_running").on(t.startedAt).where(sql`${t.outcome} = 'running'`),
  ],
);

// A tenant's webhook endpoints (src/webhooks/): where the events of its jobs are sent, signed with the endpoint's secret
// (Standard Webhooks). The secret is sealed (src/crypto/secret-box.ts); after a rotation the previous one keeps signing
// until previous_secret_expires_at.
export const webhookEndpoints = sqliteTable(
  "webhook_endpoints",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    url: text("url").notNull(),
    // JSON array of event types (src/model/webhook-events.ts).
    events: text("events").notNull(),
    description: text("description"),
    secretSealed: text("secret_sealed").notNull(),
    previousSecretSealed: text("previous_secret_sealed"),
    previousSecretExpiresAt: integer("previous_secret_expires_at"),
    // Disabled endpoints get no new deliveries; disabled_reason says why (failures in a row, a 410).
    enabled: integer("enabled", { mode: "boolean" }).notNull().default(true),
    disabledReason: text("disabled_reason"),
    disabledAt: integer("disabled_at"),
    // Failed attempts since the last success, of any of its deliveries.
    consecutiveFailures: integer("consecutive_failures").notNull().default(0),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [index("webhook_endpoints_tenant").on(t.tenantId, t.id)],
);

// One event for one endpoint: its id is the webhook-id header, the same on every attempt, and it is derived from the
// endpoint, the job and the event, so that announcing a job twice makes no second delivery. The body is stored as sent.
export const webhookDeliveries = sqliteTable(
  "webhook_deliveries",
  {
    id: text("id").primaryKey(),
    endpointId: text("endpoint_id").notNull(),
    tenantId: text("tenant_id").notNull(),
    eventType: text("event_type").notNull(),
    jobId: text("job_id").notNull(),
    payload: text("payload").notNull(),
    status: text("status", { enum: deliveryStates }).notNull(),
    attempts: integer("attempts").notNull().default(0),
    lastStatusCode: integer("last_status_code"),
    lastLatencyMs: integer("last_latency_ms"),
    lastError: text("last_error"),
    // When the next attempt is due (pending only): a pending delivery long past it lost its message, and the sweeper
    // sends it again.
    nextAttemptAt: integer("next_attempt_at"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    // An endpoint's delivery log, newest first.
    index("webhook_deliveries_endpoint_recent").on(t.endpointId, sql`${t.createdAt} DESC`, sql`${t.id} DESC`),
    index("webhook_deliveries_overdue").on(t.nextAttemptAt).where(sql`${t.status} = 'pending'`),
    index("webhook_deliveries_created").on(t.createdAt),
  ],
);

// Every attempt of a delivery: when, the status code (null when no response came), how long it took, what went wrong.
export const webhookAttempts = sqliteTable(
  "webhook_attempts",
  {
    deliveryId: text("delivery_id").notNull(),
    attempt: integer("attempt").notNull(),
    at: integer("at").notNull(),
    statusCode: integer("status_code"),
    latencyMs: integer("latency_ms").notNull(),
    error: text("error"),
  },
  (t) => [primaryKey({ columns: [t.deliveryId, t.attempt] })],
);
