import { drizzle } from "drizzle-orm/d1";

export type Db = ReturnType<typeof drizzle>;

/** A drizzle handle over a D1 database or one of its sessions (same prepare/batch surface). */
export function database(d1: D1Database | D1DatabaseSession): Db {
  return drizzle(d1 as D1Database);
}
