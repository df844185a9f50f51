/**
 * The import queue's message: only a job id and the checkpoint to resume from, never rows,
 * so a message stays a few dozen bytes whatever the file (the queue's limit is 128 KB).
 */
export interface ImportMessage {
  jobId: string;
  /** Byte offset in the uploaded object where the next unprocessed record starts. */
  cursorByte: number;
}
