// /api/v1/feeds: URLs a tenant's product files are fetched from on a schedule (src/feeds/): create, list, get, change,
// delete, run now, pause, resume, and each feed's fetch history.
import type { OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import { database } from "../db/client.ts";
import { deleteFeed, getFeed, listFeeds, listFetches } from "../db/queries/feeds.ts";
import type { AppEnv } from "../http/context.ts";
import { readJsonValue, validJsonBody } from "../http/json-body.ts";
import { cursorParam, limitParam, nextCursor } from "../http/pagination.ts";
import { ProblemError, problems } from "../http/problem.ts";
import { apiRoute, headers, problemContent } from "../http/route.ts";
import { feedInputSchema, feedPatchSchema, feedPath, feedSchema, givenUploadOptions, MAX_FEEDS, type StoredUploadOptions, toFeedJson } from "../feeds/feed.ts";
import { feedFetchSchema, toFetchJson } from "../feeds/fetch-json.ts";
import { createFeed, patchFeed, pauseFeed, resumeFeed } from "../feeds/manage.ts";
import { FETCHES_KEPT, runFeedNow } from "../feeds/run.ts";

const FEEDS = "/api/v1/feeds";
/** A feed's body: a URL, options, a mapping and credentials, each bounded well below this. */
const MAX_BODY_BYTES = 64 * 1024;

const feedParams = z.object({ id: z.string().min(1).max(64).describe("The feed's id.") });
const pageQuery = z.object({ limit: limitParam(1, 100, 20), cursor: cursorParam(z.tuple([z.number(), z.string()])) });
const feedPageSchema = z.object({ data: z.array(feedSchema), next_cursor: z.string().nullable() }).meta({ id: "FeedPage" });
const fetchPageSchema = z.object({ data: z.array(feedFetchSchema), next_cursor: z.string().nullable() }).meta({ id: "FeedFetchPage" });

const json = (schema: z.ZodType) => ({ "application/json": { schema } });
const jsonBody = (component: string, description: string) => ({
  description: `${description} At most ${MAX_BODY_BYTES} bytes.`,
  required: true,
  // A reference: the handler reads the body itself (readJsonValue), bounded and answered with the API's own problems.
  content: { "application/json": { schema: { $ref: `#/components/schemas/${component}` } } },
});
const bodyProblems = {
  413: { description: "The body is larger than the limit, given in `max_bytes`.", content: problemContent },
  415: { description: "The body is not application/json (UTF-8).", content: problemContent, headers: headers({ Accept: "application/json" }) },
  422: { description: "The URL is refused by the outbound guard (`url-refused`): not https, an inward address or name, credentials in it.", content: problemContent },
  503: { description: "`credentials` were given but this deployment has no ENCRYPTION_KEY to store them with.", content: problemContent },
};
const notFound = { 404: { description: "The tenant has no feed with that id.", content: problemContent } };

const listFeedsRoute = apiRoute({
  method: "get",
  path: FEEDS,
  operationId: "listFeeds",
  summary: "List the feeds, newest first",
  description: `A tenant keeps at most ${MAX_FEEDS} feeds.`,
  tag: "Feeds",
  scope: "imports:write",
  request: { query: pageQuery },
  responses: { 200: { description: "A page of feeds.", content: json(feedPageSchema) } },
});

const createFeedRoute = apiRoute({
  method: "post",
  path: FEEDS,
  operationId: "createFeed",
  summary: "Register a feed fetched on a schedule",
  description:
    "The URL is fetched on the schedule by the cron trigger (every 5 minutes): conditionally (If-None-Match / If-Modified-Since with the last file's ETag and " +
    "Last-Modified), so that an unchanged file (304) makes no job. A changed file is streamed into storage (up to MAX_UPLOAD_BYTES, as sent; gzip accepted, " +
    "as `Content-Encoding: gzip` or a gzip file) and becomes an import job exactly as an upload with the same options would, with the job's `feed_id` set. " +
    `Each fetch is recorded (GET …/fetches). A tenant keeps at most ${MAX_FEEDS} feeds.`,
  tag: "Feeds",
  scope: "imports:write",
  request: { body: jsonBody("FeedInput", "The feed.") },
  responses: {
    201: { description: "Created.", content: json(feedSchema), headers: headers({ Location: "The feed's URL." }) },
    409: { description: `The tenant already has ${MAX_FEEDS} feeds (\`limit-reached\`).`, content: problemContent },
    ...bodyProblems,
  },
});

const getFeedRoute = apiRoute({
  method: "get",
  path: `${FEEDS}/{id}`,
  operationId: "getFeed",
  summary: "Get a feed",
  tag: "Feeds",
  scope: "imports:write",
  request: { params: feedParams },
  responses: { 200: { description: "The feed.", content: json(feedSchema) }, ...notFound },
});

const updateFeedRoute = apiRoute({
  method: "patch",
  path: `${FEEDS}/{id}`,
  operationId: "updateFeed",
  summary: "Change a feed",
  description: "Changes the fields given. Jobs already made keep the options they were made with.",
  tag: "Feeds",
  scope: "imports:write",
  request: { params: feedParams, body: jsonBody("FeedPatch", "The fields to change.") },
  responses: { 200: { description: "The feed as changed.", content: json(feedSchema) }, ...notFound, ...bodyProblems },
});

const deleteFeedRoute = apiRoute({
  method: "delete",
  path: `${FEEDS}/{id}`,
  operationId: "deleteFeed",
  summary: "Delete a feed and its fetch history",
  description: "The jobs its fetches made stay, with their `feed_id`.",
  tag: "Feeds",
  scope: "imports:write",
  request: { params: feedParams },
  responses: { 204: { description: "Deleted." }, ...notFound },
});

const runFeedRoute = apiRoute({
  method: "post",
  path: `${FEEDS}/{id}/run`,
  // It brings a file in, as an upload does.
  rateLimit: "uploads",
  operationId: "runFeed",
  summary: "Fetch a feed now",
  description:
    "Fetches the feed now, as the schedule would (conditionally, into a job when the file changed), and answers when the fetch has ended " +
    "(at most FEED_FETCH_TIMEOUT_SECONDS): the fetch, with `job_id` when a job was made. A paused feed can be run too; the schedule is left as it is. " +
    "A failed fetch counts toward the pause after FEED_PAUSE_AFTER_FAILURES.",
  tag: "Feeds",
  scope: "imports:write",
  request: { params: feedParams },
  responses: {
    200: { description: "The fetch, ended.", content: json(feedFetchSchema) },
    409: { description: "The feed is being fetched (a run or its schedule): one fetch of a feed at a time.", content: problemContent },
    ...notFound,
  },
});

const pauseFeedRoute = apiRoute({
  method: "post",
  path: `${FEEDS}/{id}/pause`,
  operationId: "pauseFeed",
  summary: "Pause a feed's schedule",
  tag: "Feeds",
  scope: "imports:write",
  request: { params: feedParams },
  responses: { 200: { description: "The feed, paused.", content: json(feedSchema) }, ...notFound },
});

const resumeFeedRoute = apiRoute({
  method: "post",
  path: `${FEEDS}/{id}/resume`,
  operationId: "resumeFeed",
  summary: "Resume a paused feed",
  description: "Clears `paused_reason` and the count of failures in a row; the next fetch is the schedule's next slot from now (at once, for an interval).",
  tag: "Feeds",
  scope: "imports:write",
  request: { params: feedParams },
  responses: { 200: { description: "The feed, active.", content: json(feedSchema) }, ...notFound },
});

const listFetchesRoute = apiRoute({
  method: "get",
  path: `${FEEDS}/{id}/fetches`,
  operationId: "listFeedFetches",
  summary: "A feed's fetch history, newest first",
  description: `Each fetch: when, what started it, the HTTP status, the bytes, the job made or why not. The newest ${FETCHES_KEPT} are kept.`,
  tag: "Feeds",
  scope: "imports:write",
  request: { params: feedParams, query: pageQuery },
  responses: { 200: { description: "A page of fetches.", content: json(fetchPageSchema) }, ...notFound },
});

const noFeed = (id: string) => problems.notFound(`No feed with id "${id}".`);

export function registerFeedRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openAPIRegistry.register("FeedInput", feedInputSchema);
  app.openAPIRegistry.register("FeedPatch", feedPatchSchema);

  app.openapi(listFeedsRoute, async (c) => {
    const query = c.req.valid("query");
    const rows = await listFeeds(database(c.var.db), c.var.caller.tenantId, { limit: query.limit, after: query.cursor });
    const { page, next } = nextCursor(rows, query.limit, (row) => [row.createdAt, row.id]);
    return c.json({ data: page.map(toFeedJson), next_cursor: next }, 200);
  });

  app.openapi(createFeedRoute, async (c) => {
    const body = await readJsonValue(c, MAX_BODY_BYTES);
    const input = validJsonBody(feedInputSchema, body);
    const options = givenUploadOptions(body) as StoredUploadOptions;
    const feed = await createFeed(c.env, database(c.var.db), c.var.caller.tenantId, input, options);
    return c.json(toFeedJson(feed), 201, { location: feedPath(feed.id) });
  });

  app.openapi(getFeedRoute, async (c) => {
    const { id } = c.req.valid("param");
    const feed = await getFeed(database(c.var.db), c.var.caller.tenantId, id);
    if (!feed) throw noFeed(id);
    return c.json(toFeedJson(feed), 200);
  });

  app.openapi(updateFeedRoute, async (c) => {
    const { id } = c.req.valid("param");
    const body = await readJsonValue(c, MAX_BODY_BYTES);
    const patch = validJsonBody(feedPatchSchema, body);
    const feed = await patchFeed(c.env, database(c.var.db), c.var.caller.tenantId, id, patch, givenUploadOptions(body));
    if (!feed) throw noFeed(id);
    return c.json(toFeedJson(feed), 200);
  });

  app.openapi(deleteFeedRoute, async (c) => {
    const { id } = c.req.valid("param");
    if (!(await deleteFeed(database(c.var.db), c.var.caller.tenantId, id))) throw noFeed(id);
    return c.body(null, 204);
  });

  app.openapi(runFeedRoute, async (c) => {
    const { id } = c.req.valid("param");
    const db = database(c.var.db);
    const feed = await getFeed(db, c.var.caller.tenantId, id);
    if (!feed) throw noFeed(id);
    const run = await runFeedNow(c.env, db, feed);
    if ("running" in run) {
      const since = run.running ? ` (${run.running.id}, started at ${new Date(run.running.startedAt).toISOString()})` : "";
      throw new ProblemError("conflict", `Feed "${id}" is being fetched${since}; run it again once that fetch has ended (GET ${FEEDS}/${id}/fetches).`);
    }
    return c.json(toFetchJson(run.ran), 200);
  });

  app.openapi(pauseFeedRoute, async (c) => {
    const { id } = c.req.valid("param");
    const feed = await pauseFeed(database(c.var.db), c.var.caller.tenantId, id);
    if (!feed) throw noFeed(id);
    return c.json(toFeedJson(feed), 200);
  });

  app.openapi(resumeFeedRoute, async (c) => {
    const { id } = c.req.valid("param");
    const feed = await resumeFeed(database(c.var.db), c.var.caller.tenantId, id);
    if (!feed) throw noFeed(id);
    return c.json(toFeedJson(feed), 200);
  });

  app.openapi(listFetchesRoute, async (c) => {
    const { id } = c.req.valid("param");
    const query = c.req.valid("query");
    const db = database(c.var.db);
    if (!(await getFeed(db, c.var.caller.tenantId, id))) throw noFeed(id);
    const rows = await listFetches(db, c.var.caller.tenantId, id, { limit: query.limit, after: query.cursor });
    const { page, next } = nextCursor(rows, query.limit, (row) => [row.startedAt, row.id]);
    return c.json({ data: page.map(toFetchJson), next_cursor: next }, 200);
  });
}
