// Notes on a job: what the merchant should know about how the file was read that is neither a row's problem nor why
// the job failed (a file without rows, a declared charset its bytes contradict). Each code is noted at most once per
// job, so a job's notes are bounded by this one list of codes.
import { z } from "zod";

/** Every note's code, and how much it matters: `info`, or `warning` (the file may not have been read as meant). */
const noteSeverities = {
  no_rows: "info",
  charset_mismatch: "warning",
} as const;

export type JobNoteCode = keyof typeof noteSeverities;
const jobNoteCodes = Object.keys(noteSeverities) as [JobNoteCode, ...JobNoteCode[]];

/** A note as the job stores it; its severity follows from its code. */
export interface JobNote {
  code: JobNoteCode;
  message: string;
}

export const jobNoteSchema = z
  .object({
    code: z.enum(jobNoteCodes).describe(
      "`no_rows`: the file has a header but no rows, so nothing was imported. `charset_mismatch`: the bytes contradict the charset the upload declared; the message names the charset the file was read in.",
    ),
    severity: z.enum(["info", "warning"]).describe("`warning` when the file may not have been read as meant."),
    message: z.string(),
  })
  .meta({ id: "ImportJobNote" });

export function noteJson(note: JobNote): z.output<typeof jobNoteSchema> {
  return { code: note.code, severity: noteSeverities[note.code], message: note.message };
}

export const NO_ROWS: JobNote = { code: "no_rows", message: "The file has a header line but no rows: nothing was imported." };

/** A job's notes: those stored, and those added since, each code once; the whole list is committed when it changed. */
export class JobNotes {
  private readonly notes: JobNote[];
  private changed = false;

  constructor(job: { notes: string }) {
    this.notes = JSON.parse(job.notes) as JobNote[];
  }

  add(note: JobNote): void {
    if (this.notes.some((n) => n.code === note.code)) return;
    this.notes.push(note);
    this.changed = true;
  }

  /** Every note, when one was added since the last call. */
  takeChange(): JobNote[] | undefined {
    if (!this.changed) return undefined;
    this.changed = false;
    return [...this.notes];
  }
}
