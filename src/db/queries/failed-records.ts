import { and, asc, eq, gt } from "drizzle-orm";
import type { Db } from "../client.ts";
import { importFailedRecords } from "../schema.ts";

export type FailedRecordRow = typeof importFailedRecords.$inferSelect;

/** A page of a job's failed records in file order, after the record that starts at `afterStart`. */
export function listFailedRecords(db: Db, jobId: string, limit: number, afterStart?: number): Promise<FailedRecordRow[]> {
  return db
    .select()
    .from(importFailedRecords)
    .where(afterStart === undefined ? eq(importFailedRecords.jobId, jobId) : and(eq(importFailedRecords.jobId, jobId), gt(importFailedRecords.byteStart, afterStart)))
    .orderBy(asc(importFailedRecords.byteStart))
    .limit(limit);
}
