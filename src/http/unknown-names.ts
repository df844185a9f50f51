// Names a request gives that its operation does not have (query parameters, multipart form fields) are refused, each
// named with the closest name the operation has: a misspelt option (`blank_cell=keep`) would otherwise be ignored, and
// the default left in its place (`blank_cells=clear`) would change what the client meant to keep.
import { shorten } from "../text.ts";
import type { ProblemFieldError } from "./problem.ts";

/** Edits (a character added, dropped or changed, two neighbours swapped) that a name may be from the one suggested. */
const MAX_EDITS = 2;
/** Unknown names one problem lists; the rest are counted. */
const MAX_LISTED = 10;
/** An unknown name is repeated back cut to this many characters. */
const MAX_SHOWN_LENGTH = 100;

/**
 * The known name `name` is most likely a misspelling of (case aside), or null when none is within MAX_EDITS. A name
 * whose length differs from a known one's by more than that is not compared with it, so the work per known name is
 * bounded by the known name's length however long `name` is.
 */
export function closestName(name: string, known: readonly string[]): string | null {
  const given = name.toLowerCase();
  let best: string | null = null;
  let bestEdits = MAX_EDITS + 1;
  for (const candidate of known) {
    if (Math.abs(candidate.length - given.length) > MAX_EDITS) continue;
    // Short names have few letters to spare: "sku" is one edit from "sk", not two from "s".
    const allowed = Math.min(MAX_EDITS, Math.max(1, Math.floor(candidate.length / 3)));
    const edits = editDistance(given, candidate.toLowerCase());
    if (edits <= allowed && edits < bestEdits) {
      best = candidate;
      bestEdits = edits;
    }
  }
  return best;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours. */
function editDistance(a: string, b: string): number {
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, before[j - 2]! + 1);
      current.push(d);
    }
    before = previous;
    previous = current;
  }
  return previous[b.length]!;
}

/** One error per unknown name (at most MAX_LISTED, then one counting the rest), each with what `explain` says of it. */
export function unknownNameErrors(
  unknown: readonly string[],
  location: ProblemFieldError["location"],
  explain: (name: string) => string,
): ProblemFieldError[] {
  const errors: ProblemFieldError[] = unknown.slice(0, MAX_LISTED).map((name) => ({ location, name: shorten(name, MAX_SHOWN_LENGTH), message: explain(name) }));
  const more = unknown.length - errors.length;
  if (more > 0) errors.push({ location, name: "(more)", message: `${more} more unknown names are not listed` });
  return errors;
}

/** "a, b and c". */
export function listed(names: readonly string[]): string {
  return names.length < 2 ? (names[0] ?? "") : `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`;
}
