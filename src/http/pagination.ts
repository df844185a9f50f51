// Opaque keyset cursors and the shared `limit` parameter.
import { z } from "zod";

function toBase64Url(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(text: string): string | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  try {
    const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(Uint8Array.from(binary, (ch) => ch.charCodeAt(0)));
  } catch {
    return null;
  }
}

/** A cursor is the sort key of the last item of a page, so the next page starts strictly after it. */
export function encodeCursor(key: readonly (string | number)[]): string {
  return toBase64Url(JSON.stringify(key));
}

export function cursorParam<K extends z.ZodType<readonly (string | number)[]>>(key: K) {
  return z
    .string()
    .max(1024)
    .transform((text, ctx): z.output<K> => {
      const json = fromBase64Url(text);
      let parsed: unknown;
      try {
        parsed = json === null ? undefined : JSON.parse(json);
      } catch {
        parsed = undefined;
      }
      const result = key.safeParse(parsed);
      if (!result.success) {
        ctx.addIssue({ code: "custom", message: "is not a cursor returned by this endpoint; pass next_cursor unchanged" });
        return z.NEVER;
      }
      return result.data;
    })
    .optional()
    .describe("Opaque cursor from a previous page's next_cursor; omit for the first page.");
}

export function limitParam(min: number, max: number, fallback: number) {
  const message = `must be an integer from ${min} to ${max}`;
  const description = `Page size, ${min} to ${max} (default ${fallback}).`;
  return (
    z
      .string({ error: message })
      .regex(/^\d{1,6}$/, { error: message })
      .transform(Number)
      .refine((n) => n >= min && n <= max, { error: message })
      .optional()
      .transform((n) => n ?? fallback)
      .describe(description)
      // Parsed from a digit string; clients see the integer it is.
      .meta({ type: "integer", minimum: min, maximum: max, default: fallback })
  );
}

export function nextCursor<T>(rows: T[], limit: number, key: (row: T) => readonly (string | number)[]): { page: T[]; next: string | null } {
  if (rows.length <= limit) return { page: rows, next: null };
  const page = rows.slice(0, limit);
  return { page, next: encodeCursor(key(page[page.length - 1] as T)) };
}
