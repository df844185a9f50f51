// When a feed is due: the first slot, the next one, and missed slots run once.
import { describe, expect, it } from "vitest";
import { firstRunAt, nextRunAt } from "../../../src/feeds/schedule.ts";

const at = (iso: string) => Date.parse(iso);
const MINUTE = 60_000;

describe("feed schedule", () => {
  it("starts an interval at once and a daily feed at its next UTC time", () => {
    const now = at("2026-12-06T10:07:00Z");
    expect(firstRunAt({ everyMinutes: 15, dailyAt: null }, now)).toBe(now);
    expect(firstRunAt({ everyMinutes: null, dailyAt: "10:30" }, now)).toBe(at("2026-12-06T10:30:00Z"));
    expect(firstRunAt({ everyMinutes: null, dailyAt: "10:07" }, now)).toBe(at("2026-12-07T10:07:00Z"));
    expect(firstRunAt({ everyMinutes: null, dailyAt: "03:00" }, now)).toBe(at("2026-12-07T03:00:00Z"));
  });

  it("moves an interval on by its length from the slot, and past missed slots once", () => {
    const slot = at("2026-12-06T10:00:00Z");
    const every15 = { everyMinutes: 15, dailyAt: null };
    expect(nextRunAt(every15, slot, slot + 2 * MINUTE)).toBe(slot + 15 * MINUTE);
    // Three hours late (paused, an outage): the next slot after now, not the twelve missed.
    expect(nextRunAt(every15, slot, slot + 180 * MINUTE + 1)).toBe(slot + 195 * MINUTE);
    expect(nextRunAt({ everyMinutes: null, dailyAt: "10:00" }, slot, slot + 4 * MINUTE)).toBe(at("2026-12-07T10:00:00Z"));
  });
});
