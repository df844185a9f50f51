// Byte helpers shared by the request readers and the import's file reader.

/** The parts as one array of `byteLength` bytes; a single part is returned as it is. */
export function concatBytes(parts: readonly Uint8Array[], byteLength: number): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array;
  const out = new Uint8Array(byteLength);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}
