// A source's own state is JSON it writes and alone reads back (see SourceStateChange in contract.ts). It is read back
// through the zod schema it was written by, so a state that is not what the source wrote (a bug, a row edited by hand)
// fails the job with a clear reason instead of resuming wrong.
import type { z } from "zod";

/**
 * A source's saved state that does not read back as the source wrote it: the job fails, as no retry could read it
 * either. The message says where the state went wrong, for the log; the job's reason says what it means to the client.
 */
export class UnreadableSourceState extends Error {}

/** A source's state (or a part of it, as a preset's) read back through its schema; see UnreadableSourceState. */
export function readSourceState<S extends z.ZodType>(schema: S, stored: unknown): z.output<S> {
  const read = schema.safeParse(stored);
  if (read.success) return read.data;
  throw new UnreadableSourceState(read.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; "));
}

/** A source's serialized state read back: JSON text, then its schema. */
export function parseSourceState<S extends z.ZodType>(schema: S, text: string): z.output<S> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UnreadableSourceState("not JSON");
  }
  return readSourceState(schema, value);
}
