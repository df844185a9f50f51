// A row source turns the bytes of one input shape into rows (RowOutcome: a validated product or row errors), in file
// order, and owns what it needs to resume mid-file: its parser's position and its own state (the file's encoding, a
// CSV's header mapping and delimiter, the ignored columns), which is committed with each chunk as part of the job's
// checkpoint. The slice (process.ts) feeds it bytes and takes its rows; it knows nothing of formats. Sources are
// picked in sources.ts.
import type { RowOutcome } from "./rows.ts";
import type { Checkpoint, SourceStateChange } from "../commit/write.ts";

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

/** A problem with the file as a whole: the job fails, retrying cannot help. */
export class PermanentImportError extends Error {}
