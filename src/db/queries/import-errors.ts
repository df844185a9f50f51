import { and, asc, eq, gt } from "drizzle-orm";
import type { Db } from "../client.ts";
import { importErrors } from "../schema.ts";

export type ImportErrorRow = typeof importErrors.$inferSelect;

/** A page of a job's stored row errors in file order, plus one row to tell whether more follow. */
export function listImportErrors(db: Db, jobId: string, limit: number, afterSeq?: number): Promise<ImportErrorRow[]> {
  return db
    .select()
    .from(importErrors)
    .where(afterSeq === undefined ? eq(importErrors.jobId, jobId) : and(eq(importErrors.jobId, jobId), gt(importErrors.seq, afterSeq)))
    .orderBy(asc(importErrors.seq))
    .limit(limit + 1);
}
