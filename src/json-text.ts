// JSON text a client sends (a request body, a parameter holding JSON): parsed strictly. JSON.parse keeps the last of
// two equal names in one object; which one a client meant is a guess, so a repeated name is refused instead.

export type ParsedJson = { ok: true; value: unknown } | { ok: false; message: string };

export function parseJsonText(text: string): ParsedJson {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, message: `is not valid JSON${error instanceof Error ? ` (${error.message})` : ""}` };
  }
  const repeated = repeatedName(text);
  return repeated === null ? { ok: true, value } : { ok: false, message: `gives the name ${JSON.stringify(repeated)} twice in one object; give it once` };
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * The first name given twice in one object of `text`, which must be valid JSON; null when there is none. One pass
 * over the text: a string is a name when it follows `{` or an object's `,`.
 */
function repeatedName(text: string): string | null {
  // Per open object or array: the names seen so far (null for an array).
  const open: (Set<string> | null)[] = [];
  let expectName = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === QUOTE) {
      const start = i;
      for (i++; text.charCodeAt(i) !== QUOTE; i++) if (text.charCodeAt(i) === BACKSLASH) i++;
      if (!expectName) continue;
      const names = open[open.length - 1] as Set<string>;
      const name = JSON.parse(text.slice(start, i + 1)) as string;
      if (names.has(name)) return name;
      names.add(name);
      expectName = false;
    } else if (code === 0x7b /* { */) {
      open.push(new Set());
      expectName = true;
    } else if (code === 0x5b /* [ */) {
      open.push(null);
    } else if (code === 0x7d /* } */ || code === 0x5d /* ] */) {
      open.pop();
    } else if (code === 0x2c /* , */) {
      expectName = open[open.length - 1] != null;
    }
  }
  return null;
}
