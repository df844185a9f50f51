// JSON text from clients (a request body, a parameter holding JSON, an NDJSON line, an options cell): JSON.parse keeps
// the last of two equal names in one object; which one a client meant is a guess, so a repeated name is found here
// and refused by whoever reads the text. Every scan is one pass over the text.

export type ParsedJson = { ok: true; value: unknown } | { ok: false; message: string };

export function parseJsonText(text: string): ParsedJson {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, message: `is not valid JSON${error instanceof Error ? ` (${error.message})` : ""}` };
  }
  const [repeated] = repeatedNames(text);
  return repeated === undefined ? { ok: true, value } : { ok: false, message: `gives the name ${JSON.stringify(repeated.name)} twice in one object; give it once` };
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/** Where the string that opens at `start` (a quote) of valid JSON `text` closes: the next quote no backslash escapes. */
function stringEnd(text: string, start: number): number {
  let end = start;
  for (;;) {
    end = text.indexOf('"', end + 1);
    let escapes = 0;
    while (text.charCodeAt(end - 1 - escapes) === BACKSLASH) escapes++;
    if (escapes % 2 === 0) return end;
  }
}

/**
 * How many names the objects of valid JSON `text` give, counting those at most `maxDepth` containers deep (1: the
 * outermost value's own). A name is what a colon outside strings follows, so this allocates nothing: compared with the
 * names of the parsed value, it tells whether JSON.parse dropped a repeat.
 */
export function nameCount(text: string, maxDepth: number): number {
  let count = 0;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === QUOTE) i = stringEnd(text, i);
    else if (code === COLON) count += depth <= maxDepth ? 1 : 0;
    else if (code === OPEN_OBJECT || code === OPEN_ARRAY) depth++;
    else if (code === CLOSE_OBJECT || code === CLOSE_ARRAY) depth--;
  }
  return count;
}

/** A name given more than once in one object; `within` names the member of the outermost object that holds that object (null: the outermost object itself). */
export interface RepeatedName {
  name: string;
  within: string | null;
}

/**
 * Each name given more than once in one object of valid JSON `text`, at its repeats in text order, in the objects at
 * most `maxDepth` containers deep (1: the outermost value). A string is a name when it follows `{` or an object's `,`.
 */
export function repeatedNames(text: string, maxDepth = Number.POSITIVE_INFINITY): RepeatedName[] {
  const repeated: RepeatedName[] = [];
  // Per open object or array: the names seen so far (null for an array).
  const open: (Set<string> | null)[] = [];
  let expectName = false;
  let member: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === QUOTE) {
      const start = i;
      i = stringEnd(text, i);
      if (!expectName) continue;
      expectName = false;
      const names = open[open.length - 1];
      if (!names) continue;
      const name = JSON.parse(text.slice(start, i + 1)) as string;
      if (open.length === 1) member = name;
      if (names.has(name)) repeated.push({ name, within: open.length === 1 ? null : member });
      else names.add(name);
    } else if (code === OPEN_OBJECT) {
      // Deeper objects are not looked into: their names are neither collected nor compared.
      open.push(open.length < maxDepth ? new Set() : null);
      expectName = true;
    } else if (code === OPEN_ARRAY) {
      open.push(null);
    } else if (code === CLOSE_OBJECT || code === CLOSE_ARRAY) {
      open.pop();
    } else if (code === COMMA) {
      expectName = open[open.length - 1] != null;
    }
  }
  return repeated;
}
