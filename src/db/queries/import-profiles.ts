import { and, asc, eq, gt, type SQL, sql } from "drizzle-orm";
import { naming } from "../../log-error.ts";
import type { Db } from "../client.ts";
import { importProfiles } from "../schema.ts";

export type ProfileRow = typeof importProfiles.$inferSelect;

const own = (tenantId: string, name: string) => and(eq(importProfiles.tenantId, tenantId), eq(importProfiles.name, name));

export async function getProfile(db: Db, tenantId: string, name: string): Promise<ProfileRow | null> {
  const [row] = await db.select().from(importProfiles).where(own(tenantId, name)).limit(1);
  return row ?? null;
}

/** One page by name, plus one row to tell whether another page follows. */
export function listProfiles(db: Db, tenantId: string, page: { limit: number; afterName?: string }): Promise<ProfileRow[]> {
  const conditions: SQL[] = [eq(importProfiles.tenantId, tenantId)];
  if (page.afterName !== undefined) conditions.push(gt(importProfiles.name, page.afterName));
  return db
    .select()
    .from(importProfiles)
    .where(and(...conditions))
    .orderBy(asc(importProfiles.name))
    .limit(page.limit + 1);
}

export type ProfileCreation = { kind: "created"; row: ProfileRow } | { kind: "exists" } | { kind: "limit_reached" };

/**
 * Inserts the profile unless the name is taken or the tenant already has `maxProfiles`; one transaction, so two
 * concurrent creations cannot both pass the count.
 */
export async function createProfile(
  db: Db,
  profile: { tenantId: string; name: string; mapping: string; now: number },
  maxProfiles: number,
): Promise<ProfileCreation> {
  const { tenantId, name, mapping, now } = profile;
  // Every column of the table, in its order (an insert from a SELECT lists them all).
  const insert = db
    .insert(importProfiles)
    .select(
      sql`SELECT ${tenantId}, ${name}, ${mapping}, ${now}, ${now}
          WHERE (SELECT count(*) FROM ${importProfiles} WHERE ${importProfiles.tenantId} = ${tenantId}) < ${maxProfiles}`,
    )
    .onConflictDoNothing()
    .returning();
  const existing = db.select({ name: importProfiles.name }).from(importProfiles).where(own(tenantId, name));
  const [inserted, found] = await naming("create profile", db.batch([insert, existing]));
  if (inserted[0]) return { kind: "created", row: inserted[0] };
  return found.length > 0 ? { kind: "exists" } : { kind: "limit_reached" };
}

/** Replaces the profile's mapping; null when the tenant has no profile of that name. */
export async function replaceProfile(db: Db, tenantId: string, name: string, mapping: string, now: number): Promise<ProfileRow | null> {
  const [row] = await db.update(importProfiles).set({ mapping, updatedAt: now }).where(own(tenantId, name)).returning();
  return row ?? null;
}

/** Deletes the profile; false when the tenant had none of that name. */
export async function deleteProfile(db: Db, tenantId: string, name: string): Promise<boolean> {
  const rows = await db.delete(importProfiles).where(own(tenantId, name)).returning({ name: importProfiles.name });
  return rows.length > 0;
}
