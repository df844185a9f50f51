import { and, desc, eq, getTableColumns, lt, lte, or, sql } from "drizzle-orm";
import type { Db } from "../client.ts";
import { feedFetches, feeds } from "../schema.ts";

export type FeedRow = typeof feeds.$inferSelect;
export type NewFeed = typeof feeds.$inferInsert;
export type FeedFetchRow = typeof feedFetches.$inferSelect;
export type NewFeedFetch = typeof feedFetches.$inferInsert;

const own = (tenantId: string, id: string) => and(eq(feeds.tenantId, tenantId), eq(feeds.id, id));

/**
 * Inserts the feed unless its tenant already has `maxFeeds`: one statement (an INSERT from a SELECT guarded by the
 * count), so two concurrent creations cannot both pass the count. False when the limit was reached.
 */
export async function insertFeed(db: Db, feed: NewFeed, maxFeeds: number): Promise<boolean> {
  const columns = getTableColumns(feeds);
  const given = Object.entries(feed).filter(([, value]) => value !== undefined) as [keyof typeof columns, unknown][];
  const result = await db.run(sql`INSERT INTO ${feeds} (${sql.join(
    given.map(([key]) => sql.identifier(columns[key].name)),
    sql`, `,
  )}) SELECT ${sql.join(
    given.map(([, value]) => sql`${value}`),
    sql`, `,
  )} WHERE (SELECT count(*) FROM ${feeds} WHERE ${feeds.tenantId} = ${feed.tenantId}) < ${maxFeeds}`);
  return (result.meta.changes ?? 0) > 0;
}

export async function getFeed(db: Db, tenantId: string, id: string): Promise<FeedRow | null> {
  const [row] = await db.select().from(feeds).where(own(tenantId, id)).limit(1);
  return row ?? null;
}

/** One page, newest first, plus one row to tell whether another page follows. */
export function listFeeds(db: Db, tenantId: string, page: { limit: number; after?: readonly [number, string] }): Promise<FeedRow[]> {
  const after = page.after ? or(lt(feeds.createdAt, page.after[0]), and(eq(feeds.createdAt, page.after[0]), lt(feeds.id, page.after[1]))) : undefined;
  return db
    .select()
    .from(feeds)
    .where(and(eq(feeds.tenantId, tenantId), after))
    .orderBy(desc(feeds.createdAt), desc(feeds.id))
    .limit(page.limit + 1);
}

export async function updateFeed(db: Db, tenantId: string, id: string, changes: Partial<NewFeed>): Promise<FeedRow | null> {
  const [row] = await db.update(feeds).set(changes).where(own(tenantId, id)).returning();
  return row ?? null;
}

/** Deletes the feed and its fetch history; false when the tenant has no such feed. Its jobs stay, with their feed_id. */
export async function deleteFeed(db: Db, tenantId: string, id: string): Promise<boolean> {
  const [deleted] = await db.batch([
    db.delete(feeds).where(own(tenantId, id)).returning({ id: feeds.id }),
    db.delete(feedFetches).where(and(eq(feedFetches.tenantId, tenantId), eq(feedFetches.feedId, id))),
  ]);
  return deleted.length > 0;
}

/** Active feeds whose slot has come, oldest slot first (the partial index feeds_due). */
export function findDueFeeds(db: Db, now: number, limit: number): Promise<FeedRow[]> {
  return db
    .select()
    .from(feeds)
    .where(and(eq(feeds.status, "active"), lte(feeds.nextRunAt, now)))
    .orderBy(feeds.nextRunAt)
    .limit(limit);
}

/**
 * Claims a due slot by moving it on, only if no other run has: the compare-and-set that lets one of two cron runs fetch
 * a slot. True when this run claimed it.
 */
export async function claimSlot(db: Db, feedId: string, slot: number, next: number, now: number): Promise<boolean> {
  const result = await db
    .update(feeds)
    .set({ nextRunAt: next, updatedAt: now })
    .where(and(eq(feeds.id, feedId), eq(feeds.nextRunAt, slot), eq(feeds.status, "active")));
  return (result.meta.changes ?? 0) > 0;
}

/**
 * Records a fetch as it starts, in one statement; false when one with its id exists (a scheduled slot fetched already)
 * or another fetch of the feed is running (one fetch of a feed at a time: two would race to record the validators).
 */
export async function insertFetchOnce(db: Db, fetch: Pick<FeedFetchRow, "id" | "feedId" | "tenantId" | "trigger" | "startedAt">): Promise<boolean> {
  const result = await db.run(sql`INSERT INTO ${feedFetches} (id, feed_id, tenant_id, trigger, outcome, started_at)
    SELECT ${fetch.id}, ${fetch.feedId}, ${fetch.tenantId}, ${fetch.trigger}, 'running', ${fetch.startedAt}
    WHERE NOT EXISTS (SELECT 1 FROM ${feedFetches} WHERE ${feedFetches.feedId} = ${fetch.feedId} AND ${feedFetches.outcome} = 'running')
    ON CONFLICT DO NOTHING`);
  return (result.meta.changes ?? 0) > 0;
}

/** The feed's fetch that is running, if one is. */
export async function runningFetch(db: Db, feedId: string): Promise<FeedFetchRow | null> {
  const [row] = await db.select().from(feedFetches).where(and(eq(feedFetches.feedId, feedId), eq(feedFetches.outcome, "running"))).limit(1);
  return row ?? null;
}

/**
 * Records how a fetch ended and what it changes on its feed, in one batch: the validators of a file that became a job,
 * the count of failures in a row, and the pause once there are `pauseAfter` of them (with `pauseReason`).
 */
export async function finishFetch(
  db: Db,
  fetch: FeedFetchRow,
  feedChanges: { succeeded: boolean; etag?: string | null; lastModified?: string | null; pauseAfter: number; pauseReason: string },
): Promise<FeedFetchRow> {
  const { succeeded, pauseAfter, pauseReason } = feedChanges;
  const validators = feedChanges.etag !== undefined ? { etag: feedChanges.etag, lastModified: feedChanges.lastModified ?? null } : {};
  const failures = succeeded ? sql`0` : sql`${feeds.consecutiveFailures} + 1`;
  const [[row]] = await db.batch([
    db.update(feedFetches).set(fetch).where(eq(feedFetches.id, fetch.id)).returning(),
    db
      .update(feeds)
      .set({
        ...validators,
        consecutiveFailures: failures,
        updatedAt: fetch.finishedAt ?? fetch.startedAt,
        ...(succeeded
          ? {}
          : {
              status: sql`CASE WHEN ${feeds.consecutiveFailures} + 1 >= ${pauseAfter} THEN 'paused' ELSE ${feeds.status} END`,
              pausedReason: sql`CASE WHEN ${feeds.consecutiveFailures} + 1 >= ${pauseAfter} AND ${feeds.status} = 'active' THEN ${pauseReason} ELSE ${feeds.pausedReason} END`,
            }),
      })
      .where(eq(feeds.id, fetch.feedId)),
  ]);
  return row ?? fetch;
}

/** A feed's fetches, newest first, plus one row to tell whether another page follows. */
export function listFetches(db: Db, tenantId: string, feedId: string, page: { limit: number; after?: readonly [number, string] }): Promise<FeedFetchRow[]> {
  const after = page.after
    ? or(lt(feedFetches.startedAt, page.after[0]), and(eq(feedFetches.startedAt, page.after[0]), lt(feedFetches.id, page.after[1])))
    : undefined;
  return db
    .select()
    .from(feedFetches)
    .where(and(eq(feedFetches.tenantId, tenantId), eq(feedFetches.feedId, feedId), after))
    .orderBy(desc(feedFetches.startedAt), desc(feedFetches.id))
    .limit(page.limit + 1);
}

/** Deletes a feed's fetches older than its newest `keep` (the history is bounded per feed). */
export async function purgeOldFetches(db: Db, feedId: string, keep: number): Promise<void> {
  const kept = db
    .select({ id: feedFetches.id })
    .from(feedFetches)
    .where(eq(feedFetches.feedId, feedId))
    .orderBy(desc(feedFetches.startedAt), desc(feedFetches.id))
    .limit(keep);
  await db.run(sql`DELETE FROM ${feedFetches} WHERE ${feedFetches.feedId} = ${feedId} AND ${feedFetches.id} NOT IN ${kept}`);
}

/** The job a running fetch is about to make, named before its file is stored (see run.ts). */
export async function recordFetchJob(db: Db, fetchId: string, jobId: string): Promise<void> {
  await db.update(feedFetches).set({ jobId }).where(and(eq(feedFetches.id, fetchId), eq(feedFetches.outcome, "running")));
}

/** Fetches still running that started before `startedBefore` (the Worker ended under them), oldest first. */
export function findAbandonedFetches(db: Db, startedBefore: number, limit: number): Promise<FeedFetchRow[]> {
  return db
    .select()
    .from(feedFetches)
    .where(and(eq(feedFetches.outcome, "running"), lt(feedFetches.startedAt, startedBefore)))
    .orderBy(feedFetches.startedAt)
    .limit(limit);
}
