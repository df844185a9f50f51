// When a feed is fetched: every so many minutes, or daily at a UTC time. The cron trigger runs every 5 minutes and
// fetches each feed whose due slot (feeds.next_run_at) has come, so a feed runs at the first cron run at or after it.
import { z } from "zod";

/** The cron trigger's interval (wrangler.toml [triggers]): a feed cannot be fetched more often. */
export const MIN_EVERY_MINUTES = 5;
/** A week: a feed fetched more rarely is better run with POST …/run. */
export const MAX_EVERY_MINUTES = 7 * 24 * 60;

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

export const everyMinutesSchema = z
  .int({ error: `must be an integer from ${MIN_EVERY_MINUTES} to ${MAX_EVERY_MINUTES}` })
  .min(MIN_EVERY_MINUTES, { error: `must be at least ${MIN_EVERY_MINUTES} (the cron trigger runs every ${MIN_EVERY_MINUTES} minutes)` })
  .max(MAX_EVERY_MINUTES, { error: `must be at most ${MAX_EVERY_MINUTES} (a week)` })
  .describe(`Fetch the feed every so many minutes, ${MIN_EVERY_MINUTES} to ${MAX_EVERY_MINUTES}; the first fetch is at the next cron run. Not with \`daily_at\`.`);

export const dailyAtSchema = z
  .string()
  .regex(/^([01]\d|2[0-3]):[0-5]\d$/, { error: 'must be a UTC time "HH:MM" (00:00 to 23:59)' })
  .describe('Fetch the feed once a day at this UTC time, "HH:MM" (at the first cron run from then on). Not with `every_minutes`.')
  .meta({ examples: ["03:30"] });

export type Schedule = { everyMinutes: number; dailyAt: null } | { everyMinutes: null; dailyAt: string };

/** The first slot of a feed scheduled (or resumed) at `now`: at once for an interval, the next daily time for a daily feed. */
export function firstRunAt(schedule: Schedule, now: number): number {
  return schedule.everyMinutes !== null ? now : nextDaily(schedule.dailyAt, now);
}

/** The slot after `slot` that is past `now`: a feed that missed slots (paused, a cron outage) runs once, not once per slot. */
export function nextRunAt(schedule: Schedule, slot: number, now: number): number {
  if (schedule.everyMinutes === null) return nextDaily(schedule.dailyAt, now);
  const every = schedule.everyMinutes * MINUTE;
  const missed = Math.max(0, Math.floor((now - slot) / every));
  return slot + (missed + 1) * every;
}

/** The first instant after `now` at the daily UTC time `hhmm`. */
function nextDaily(hhmm: string, now: number): number {
  const [hours, minutes] = hhmm.split(":").map(Number) as [number, number];
  const day = now - (now % DAY);
  const today = day + (hours * 60 + minutes) * MINUTE;
  return today > now ? today : today + DAY;
}
