// A row source turns the bytes of one input shape into rows (RowOutcome: a validated product or row errors), in file
// order, and owns what it needs to resume mid-file: its parser's position and its own state (a CSV's header mapping,
// delimiter, preset and what the preset carries from row to row). It is built from where the job stands (ResumeState)
// and what the upload asked for (SourceOptions), never from the job's row. The slice (jobs/slice.ts) feeds it bytes
// and takes its rows; it knows nothing of formats. The commit path stores the source's state beside the checkpoint,
// in the same guarded statement, without reading it; the source reads it back through its schema (state.ts), and a
// state it did not write fails the job. Sources are picked by format in open.ts.
import type { ColumnMapping } from "./column-mapping.ts";
import type { IgnoredColumnsChange } from "./header.ts";
import type { JobOptions } from "./options.ts";
import type { JobNote } from "../../model/job-notes.ts";
import type { PresetName } from "./presets/preset.ts";
import type { RowOutcome } from "./rows.ts";
import type { TextEncoding } from "../read/encoding.ts";

/** Where the next unread record of the file starts: the job's `cursor_byte` and `cursor_line`. */
export interface Checkpoint {
  byte: number;
  line: number;
}

/** Where a source resumes: the job's checkpoint and what was committed with it. */
export interface ResumeState {
  position: Checkpoint;
  /** Rows of the file before the checkpoint. */
  rowsBefore: number;
  /** The source's own state as it last serialized it (SourceStateChange.sourceState); null before it saved any. */
  sourceState: string | null;
  /** The encoding the file is read in, once decided (the job shows it; every continuation reads on in it). */
  encoding: TextEncoding | null;
  /** The job's list of ignored columns so far (the job shows it; a continuation carries on from it). */
  ignoredColumns: IgnoredColumnsChange;
}

/** What a source is built with besides where it resumes: what the upload asked for. */
export interface SourceOptions extends JobOptions {
  /** The column mapping the file is read with (the profile's and the upload's), or null: columns by their own names. */
  mapping: ColumnMapping | null;
  /** The preset the upload named (`profile=shopify`), or null. */
  preset: PresetName | null;
  /** Whether a CSV header may be recognised as a preset's: only when the upload said nothing of how to read the file. */
  detectPreset: boolean;
}

/**
 * What a row source learned since the last chunk, committed with the next one beside the checkpoint (an empty object:
 * nothing). Its own state is stored as it is; the rest are facts the job shows of how its file is read.
 */
export interface SourceStateChange {
  /** The source's own state, serialized, when it changed: stored opaquely, read back only by the source. */
  sourceState?: string;
  /** The encoding the file is read in, with the first chunk. */
  encoding?: TextEncoding;
  /** Notes the source adds to the job (a declared charset the file's bytes contradict). */
  notes?: JobNote[];
  /** The preset a CSV file is read with (named, or recognised from its header), once the header is read. */
  preset?: PresetName;
  /** The job's list of ignored columns, when it changed (see IgnoredColumns). */
  ignoredColumns?: IgnoredColumnsChange;
  /** Where the file's first record starts (after a byte order mark, a sep line, a header line), once it is known. */
  headerBytes?: number;
}

export interface RowSource {
  /**
   * Whether these first bytes (from the checkpoint on) are enough to start: the file's encoding is decided from its
   * first bytes, a CSV's delimiter needs its header line. May throw a FileFormatError the first bytes already show.
   */
  canStart(firstBytes: Uint8Array): boolean;
  /**
   * Parses the next bytes; their rows are taken with next(). The first call gets the first bytes: enough to start
   * (canStart), or else all the file has.
   */
  push(bytes: Uint8Array): void;
  /** At the end of the file: parses what is left; false once nothing is. Call it until then. */
  finish(): boolean;
  /** The next row of what was parsed, or null. Records that are no row (a CSV header) are taken on the way. */
  next(): RowOutcome | null;
  /** Where the last record taken ends: the job's checkpoint once the rows before it are committed. */
  readonly position: Checkpoint;
  /** What of the source's state changed since the last call, to commit with the next chunk. */
  takeStateChange(): SourceStateChange;
  /** At the end of the file: throws a PermanentImportError if the file lacked what the source needs. */
  checkComplete(): void;
}

/** How each input shape's source is built (see open.ts). */
export type RowSourceOf = new (resume: ResumeState, options: SourceOptions) => RowSource;

/** A problem with the file as a whole: the job fails, retrying cannot help. */
export class PermanentImportError extends Error {}
