// `npm run upload -- FILE …`: sends a product file of any size (up to MAX_SESSION_BYTES) through an upload session,
// resumably, then follows its import job to the end. The workings are in lib/upload-client.ts; this is the command
// line, the file (compressed with --gzip into a temporary copy first, since the session announces the size sent) and
// the state kept beside the file that lets the same command resume an interrupted upload.
import { createReadStream, createWriteStream, existsSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { type FileHandle, mkdtemp, open } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { parseArgs } from "node:util";
import { createGzip } from "node:zlib";
import {
  api,
  completeSession,
  findSession,
  type Job,
  MAX_ATTEMPTS,
  mediaTypeOf,
  openSession,
  parseResumeState,
  partRange,
  partsToSend,
  progressLine,
  type ResumeState,
  resumableSession,
  rowsPerSecond,
  sendParts,
  stillMoving,
  type Session,
} from "./lib/upload-client.ts";

const USAGE = `Usage: npm run upload -- FILE [--gzip] [--profile NAME] [--url URL] [--key KEY] [options]
  FILE               a .csv, .ndjson, .jsonl or .json file (ending .gz when it is gzip-compressed already)
  --gzip             compress the file with gzip on the way (CSV travels 5 to 10 times smaller)
  --profile NAME     read the file's columns with a saved mapping profile, or a preset (shopify, woocommerce)
  --currency CODE    currency of new products whose row has none (default USD)
  --dry-run          validate and count everything, write no product
  --url URL          the API (default: $PRODUCT_IMPORT_URL, else http://localhost:8787)
  --key KEY          the API key (default: $PRODUCT_IMPORT_KEY)
  --session ID       resume this upload session (default: the one saved beside FILE, if FILE is unchanged)
  --concurrency N    parts in flight at once, 1 to 16 (default 4)
An interrupted upload resumes when the same command runs again: FILE.upload.json, kept beside the file until its
import ends, names the session.`;

class UsageError extends Error {}

function usage(message: string): never {
  throw new UsageError(message);
}

function options() {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        gzip: { type: "boolean", default: false },
        profile: { type: "string" },
        currency: { type: "string" },
        "dry-run": { type: "boolean", default: false },
        url: { type: "string" },
        key: { type: "string" },
        session: { type: "string" },
        concurrency: { type: "string", default: "4" },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (err) {
    usage((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const [file, extra] = positionals;
  if (!file) usage("FILE is required");
  if (extra) usage(`unexpected argument "${extra}"`);
  const key = values.key ?? process.env.PRODUCT_IMPORT_KEY;
  if (!key) usage("an API key is required: --key, or $PRODUCT_IMPORT_KEY");
  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 16) usage("--concurrency must be a whole number from 1 to 16");
  const importOptions: Record<string, string> = {};
  if (values.profile) importOptions.profile = values.profile;
  if (values.currency) importOptions.currency = values.currency;
  if (values["dry-run"]) importOptions.dry_run = "true";
  return {
    file,
    gzip: values.gzip,
    url: values.url ?? process.env.PRODUCT_IMPORT_URL ?? "http://localhost:8787",
    key,
    session: values.session,
    concurrency,
    importOptions,
  };
}

/** One line that is rewritten in place on a terminal; elsewhere (a log) it is written at most every few seconds. */
function statusLine() {
  const tty = process.stderr.isTTY;
  let lastWritten = 0;
  let shown = false;
  return {
    update(text: string, force = false) {
      if (tty) {
        process.stderr.write(`\r\x1b[2K${text}`);
        shown = true;
      } else if (force || Date.now() - lastWritten >= 5000) {
        process.stderr.write(`${text}\n`);
        lastWritten = Date.now();
      }
    },
    /** A line of its own, above the status line. */
    note(text: string) {
      if (shown) process.stderr.write("\r\x1b[2K");
      process.stderr.write(`${text}\n`);
    },
    end() {
      if (shown) process.stderr.write("\n");
      shown = false;
    },
  };
}

const status = statusLine();
const mb = (bytes: number) => (bytes / 1e6).toFixed(1);

/** The file compressed with gzip into a temporary directory. */
async function compressed(file: string): Promise<string> {
  const out = path.join(await mkdtemp(path.join(os.tmpdir(), "product-upload-")), `${path.basename(file)}.gz`);
  status.note(`compressing ${file} …`);
  await pipeline(createReadStream(file), createGzip(), createWriteStream(out));
  status.note(`compressed ${mb(statSync(file).size)} MB to ${mb(statSync(out).size)} MB`);
  return out;
}

/** Reads [start, end) of an open file into a buffer of its own (a part in flight). */
function partReader(file: string, handle: FileHandle) {
  return async (start: number, end: number): Promise<Uint8Array<ArrayBuffer>> => {
    const buffer = new Uint8Array(end - start);
    for (let filled = 0; filled < buffer.byteLength; ) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.byteLength - filled, start + filled);
      if (bytesRead === 0) throw new Error(`${file} ended before byte ${end}: it changed while it was being sent`);
      filled += bytesRead;
    }
    return buffer;
  };
}

async function main(): Promise<number> {
  const args = options();
  if (!existsSync(args.file)) usage(`no file ${args.file}`);
  const name = path.basename(args.file);
  const preCompressed = /\.gz$/i.test(name);
  if (preCompressed && args.gzip) usage(`${name} is compressed already: send it without --gzip`);
  const gzip = args.gzip || preCompressed;
  const contentType = mediaTypeOf(name) ?? usage(`${name}: the file's name must end .csv, .ndjson, .jsonl or .json (then .gz when compressed)`);
  const stat = statSync(args.file);
  const statePath = `${args.file}.upload.json`;
  const saved = parseResumeState(existsSync(statePath) ? readFileSync(statePath, "utf8") : null);
  const current = { url: args.url, file: { size: stat.size, mtimeMs: stat.mtimeMs }, gzip };
  const call = api({
    url: args.url,
    key: args.key,
    onRetry: (what, attempt, reason, delay) => status.note(`${what} failed (${reason}); attempt ${attempt + 1} of ${MAX_ATTEMPTS} in ${(delay / 1000).toFixed(1)} s`),
  });

  let session: Session | null = null;
  const resumeId = args.session ?? resumableSession(saved, current);
  if (resumeId) {
    session = await findSession(call, resumeId);
    if (!session && args.session) usage(`there is no upload session ${args.session} (it was aborted, or it expired)`);
    if (!session) status.note(`the saved upload session ${resumeId} is gone (it expired); starting again`);
  }
  // With --gzip the compressed copy is sent; a resumed session needs the very copy it was opened for.
  const keptCopy = session && args.gzip && saved?.sessionId === session.id && saved.compressedPath && existsSync(saved.compressedPath) ? saved.compressedPath : null;
  const compressedPath = args.gzip ? (keptCopy ?? (await compressed(args.file))) : null;
  const sendPath = compressedPath ?? args.file;
  const size = statSync(sendPath).size;
  if (session && session.size !== size) {
    if (args.session) usage(`upload session ${session.id} is for ${session.size} bytes; ${sendPath} has ${size}`);
    status.note(`the saved upload session ${session.id} was for other bytes; starting again`);
    session = null;
  }
  if (!session) {
    session = await openSession(call, { size, filename: name, contentType, gzip });
    const state: ResumeState = { ...current, sessionId: session.id, compressedPath };
    writeFileSync(statePath, `${JSON.stringify(state, null, 2)}\n`);
    status.note(`opened upload session ${session.id}: ${session.part_count} parts of ${mb(session.part_size)} MB, until ${session.expires_at}`);
  } else {
    status.note(`resuming upload session ${session.id}: ${session.parts.length} of ${session.part_count} parts are in`);
  }

  if (session.status === "open" && partsToSend(session).length > 0) await send(call, session, sendPath, args.concurrency);
  const job = session.job_id ? (await call<Job>("GET", `/api/v1/products/import/${session.job_id}`)).body : await completeSession(call, session, args.importOptions);
  status.note(`import job ${job.id} accepted`);
  const finished = await follow(call, job);
  rmSync(statePath, { force: true });
  if (compressedPath) rmSync(path.dirname(compressedPath), { recursive: true, force: true });
  return finished.status === "completed" ? 0 : 1;
}

async function send(call: ReturnType<typeof api>, session: Session, file: string, concurrency: number): Promise<void> {
  const toSend = partsToSend(session);
  const total = toSend.reduce((sum, n) => {
    const { start, end } = partRange(session, n);
    return sum + end - start;
  }, 0);
  const started = Date.now();
  let sentBytes = 0;
  let sentParts = 0;
  const line = () => {
    const seconds = (Date.now() - started) / 1000;
    return `sending: ${sentParts}/${toSend.length} parts, ${mb(sentBytes)}/${mb(total)} MB, ${seconds > 0 ? mb(sentBytes / seconds) : "–"} MB/s`;
  };
  status.update(line(), true);
  const handle = await open(file, "r");
  try {
    await sendParts(call, session, partReader(file, handle), {
      concurrency,
      sent: (bytes) => {
        sentBytes += bytes;
        sentParts += 1;
        status.update(line(), sentParts === toSend.length);
      },
    });
  } finally {
    await handle.close();
  }
  status.end();
}

/** Polls the job until it ends, with one line saying where it stands. */
async function follow(call: ReturnType<typeof api>, accepted: Job): Promise<Job> {
  let job = accepted;
  let first: { rows: number; at: number } | null = null;
  for (;;) {
    const reading = { rows: job.processed_rows, at: Date.now() };
    if (job.status === "processing") first ??= reading;
    const done = !stillMoving(job);
    status.update(progressLine(job, rowsPerSecond(first, reading)), done);
    if (done) break;
    await new Promise((resolve) => setTimeout(resolve, 1000));
    job = (await call<Job>("GET", `/api/v1/products/import/${job.id}`, { what: "reading the import job" })).body;
  }
  status.end();
  return job;
}

process.on("SIGINT", () => {
  status.end();
  console.error("interrupted: run the same command again to resume the upload");
  process.exit(130);
});

try {
  process.exitCode = await main();
} catch (err) {
  status.end();
  if (err instanceof UsageError) {
    console.error(`upload: ${err.message}\n\n${USAGE}`);
    process.exitCode = 2;
  } else {
    console.error(`upload: ${(err as Error).message}`);
    process.exitCode = 1;
  }
}
