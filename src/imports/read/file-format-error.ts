// A file the parsers cannot read on: a structural problem with its line, which fails the job.

export type FileFormatErrorCode =
  | "unterminated_quote"
  | "unexpected_quote"
  | "invalid_utf8"
  | "invalid_utf16"
  | "utf16_without_bom"
  | "record_too_large";

/** A structural problem that makes the rest of the file unreadable. */
export class FileFormatError extends Error {
  readonly code: FileFormatErrorCode;
  /** 1-based physical line the problem is on. */
  readonly line: number;

  constructor(code: FileFormatErrorCode, line: number, message: string) {
    super(message);
    this.name = "FileFormatError";
    this.code = code;
    this.line = line;
  }
}
