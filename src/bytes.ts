// Byte helpers shared by the request readers, the import's file reader and the inflate checkpoint.

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

// Base64 for the few binary values kept in text (the inflate checkpoint's window, sealed secrets).
const BASE64_CHUNK = 8192;

export function toBase64(bytes: Uint8Array): string {
  let text = "";
  // apply() takes the bytes as they are; a spread would walk them through the iterator protocol.
  for (let i = 0; i < bytes.length; i += BASE64_CHUNK) text += String.fromCharCode.apply(null, bytes.subarray(i, i + BASE64_CHUNK) as unknown as number[]);
  return btoa(text);
}

export function fromBase64(base64: string): Uint8Array {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}
