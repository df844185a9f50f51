// Text shown back to people (error values, column names, failure reasons, messages): cut to a bounded length, quoted.

/** `text` cut to at most `max` UTF-16 units, never between the two halves of a surrogate pair. */
export function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  const last = text.charCodeAt(max - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max);
}

/** Like cutText, with "…" (counted in `max`) marking that something was cut. */
export function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${cutText(text, max - 1)}…`;
}

/** A value quoted for a message: JSON quoting makes line breaks and control characters visible; a long one is cut. */
export function quote(value: string): string {
  return JSON.stringify(value.length > 40 ? `${cutText(value, 37)}...` : value);
}
