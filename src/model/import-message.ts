/**
 * The import queue's message: only a job id and the checkpoint to resume from, never rows,
 * so a message stays a few dozen bytes whatever the file (the queue's limit is 128 KB).
 */
export interface ImportMessage {
  jobId: string;
  /** The job's checkpoint when the message was sent: the byte offset where the next unprocessed record starts. */
  checkpointByte: number;
}
