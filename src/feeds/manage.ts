// Creating, changing, pausing and resuming feeds: the request's fields checked (the URL by the outbound guard, the
// import options by the upload's schema), credentials sealed, the schedule's next slot set.
import { newId } from "../auth/keys.ts";
import type { Env } from "../config.ts";
import { MissingEncryptionKeyError } from "../crypto/secret-box.ts";
import type { Db } from "../db/client.ts";
import { type FeedRow, getFeed, insertFeed, type NewFeed, updateFeed } from "../db/queries/feeds.ts";
import { ProblemError, problems } from "../http/problem.ts";
import { guardedUrl } from "../http/validate.ts";
import type { Charset } from "../model/charsets.ts";
import { type Credentials, sealCredentials, type StoredCredentials } from "./credentials.ts";
import { feedImport, MAX_FEEDS, scheduleOf, type StoredUploadOptions, type feedInputSchema, type feedPatchSchema } from "./feed.ts";
import { firstRunAt, type Schedule } from "./schedule.ts";
import type { z } from "zod";

type FeedInput = z.output<typeof feedInputSchema>;
type FeedPatch = z.output<typeof feedPatchSchema>;

async function sealed(env: Env, feedId: string, credentials: Credentials | null): Promise<StoredCredentials> {
  try {
    return await sealCredentials(env, feedId, credentials);
  } catch (err) {
    if (err instanceof MissingEncryptionKeyError) {
      throw problems.unavailable("Feed credentials cannot be stored: this deployment has no ENCRYPTION_KEY (a Worker secret). Create the feed without credentials, or ask the operator to set it.");
    }
    throw err;
  }
}

export async function createFeed(env: Env, db: Db, tenantId: string, input: FeedInput, options: StoredUploadOptions, now = Date.now()): Promise<FeedRow> {
  const url = guardedUrl(env, input.url, "The feed's URL");
  feedImport(options, input.encoding ?? null);
  const id = newId("fed");
  const schedule: Schedule = input.every_minutes !== undefined ? { everyMinutes: input.every_minutes, dailyAt: null } : { everyMinutes: null, dailyAt: input.daily_at! };
  const row: NewFeed = {
    id,
    tenantId,
    name: input.name ?? null,
    url,
    ...schedule,
    uploadOptions: JSON.stringify(options),
    format: input.format ?? null,
    charset: input.encoding ?? null,
    ...(await sealed(env, id, input.credentials ?? null)),
    status: "active",
    pausedReason: null,
    consecutiveFailures: 0,
    nextRunAt: firstRunAt(schedule, now),
    createdAt: now,
    updatedAt: now,
  };
  if (!(await insertFeed(db, row, MAX_FEEDS))) throw new ProblemError("limit-reached", `A tenant keeps at most ${MAX_FEEDS} feeds; delete one before creating another.`);
  const created = await getFeed(db, tenantId, id);
  if (!created) throw new Error(`feed ${id} was inserted but not found`);
  return created;
}

/** Applies a patch; null when the tenant has no such feed. */
export async function patchFeed(
  env: Env,
  db: Db,
  tenantId: string,
  id: string,
  patch: FeedPatch,
  options: Partial<Record<string, string | null>>,
  now = Date.now(),
): Promise<FeedRow | null> {
  const feed = await getFeed(db, tenantId, id);
  if (!feed) return null;
  const changes: Partial<NewFeed> = { updatedAt: now };
  if (patch.url !== undefined) changes.url = guardedUrl(env, patch.url, "The feed's URL");
  if (patch.name !== undefined) changes.name = patch.name;
  if (patch.format !== undefined) changes.format = patch.format;
  if (patch.encoding !== undefined) changes.charset = patch.encoding;
  if (patch.credentials !== undefined) Object.assign(changes, await sealed(env, id, patch.credentials));
  const schedule: Schedule | null =
    patch.every_minutes !== undefined ? { everyMinutes: patch.every_minutes, dailyAt: null } : patch.daily_at !== undefined ? { everyMinutes: null, dailyAt: patch.daily_at } : null;
  if (schedule) Object.assign(changes, schedule, { nextRunAt: firstRunAt(schedule, now) });
  if (Object.keys(options).length > 0) {
    const merged: Record<string, string> = { ...(JSON.parse(feed.uploadOptions) as Record<string, string>) };
    for (const [name, value] of Object.entries(options)) {
      if (value === null || value === undefined) delete merged[name];
      else merged[name] = value;
    }
    changes.uploadOptions = JSON.stringify(merged);
  }
  feedImport(JSON.parse(changes.uploadOptions ?? feed.uploadOptions) as StoredUploadOptions, ((changes.charset !== undefined ? changes.charset : feed.charset) as Charset | null) ?? null);
  // A change to what is fetched or how it is imported makes the next fetch unconditional: the validators of the last
  // file would otherwise answer 304, and the file would never be imported the new way.
  const rereads = patch.url !== undefined || patch.format !== undefined || patch.encoding !== undefined || patch.credentials !== undefined || Object.keys(options).length > 0;
  if (rereads) Object.assign(changes, { etag: null, lastModified: null });
  return updateFeed(db, tenantId, id, changes);
}

/** Paused feeds are not fetched on schedule; `reason` says who paused it. */
export function pauseFeed(db: Db, tenantId: string, id: string, now = Date.now()): Promise<FeedRow | null> {
  return updateFeed(db, tenantId, id, { status: "paused", pausedReason: "Paused by POST …/pause.", updatedAt: now });
}

/** Active again, with its failures forgotten, from the next slot of its schedule counted from now. */
export async function resumeFeed(db: Db, tenantId: string, id: string, now = Date.now()): Promise<FeedRow | null> {
  const feed = await getFeed(db, tenantId, id);
  if (!feed) return null;
  if (feed.status === "active") return feed;
  return updateFeed(db, tenantId, id, { status: "active", pausedReason: null, consecutiveFailures: 0, nextRunAt: firstRunAt(scheduleOf(feed), now), updatedAt: now });
}
