// The consumer reads an uploaded file as bounded ranged reads (windows) against the real local R2 binding.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ObjectGoneError, RangedObjectReader } from "../../../src/imports/read/object-reader.ts";
import { bytesOf } from "./parser-helpers.ts";

const bytes = bytesOf("sku,name,price\nA-1,Ünïcode ✓,1.00\nA-2,\"two\nlines\",2\n".repeat(7));

async function readAll(reader: RangedObjectReader): Promise<Uint8Array> {
  const pieces: Uint8Array[] = [];
  for (let piece = await reader.read(); !piece.done; piece = await reader.read()) pieces.push(piece.value);
  return bytesOf(...pieces);
}

/** A bucket that records the ranges asked for. */
function recording(bucket: R2Bucket) {
  const ranges: { offset: number; length: number }[] = [];
  const wrapped = {
    get: (key: string, options?: R2GetOptions) => {
      const range = options?.range as { offset: number; length: number } | undefined;
      if (range) ranges.push(range);
      return bucket.get(key, options);
    },
  } as unknown as R2Bucket;
  return { bucket: wrapped, ranges };
}

describe("RangedObjectReader", () => {
  // A one-byte window makes a ranged read per byte: well over a thousand local R2 calls, slow on a loaded machine.
  it("yields exactly the bytes from any offset to the end, whatever the window size", { timeout: 30_000 }, async () => {
    const key = `reader/${crypto.randomUUID()}`;
    await env.UPLOADS.put(key, bytes);
    for (const window of [1, 7, 64, bytes.length - 1, bytes.length, 1 << 20]) {
      for (const from of [0, 1, 13, bytes.length - 1, bytes.length]) {
        const reader = new RangedObjectReader(env.UPLOADS, key, from, bytes.length, window);
        expect(await reader.open()).toBe(true);
        expect(await readAll(reader)).toEqual(bytes.subarray(from));
      }
    }
  });

  it("asks for consecutive windows that never pass the end of the file", async () => {
    const key = `reader/${crypto.randomUUID()}`;
    await env.UPLOADS.put(key, bytes);
    const { bucket, ranges } = recording(env.UPLOADS);
    const reader = new RangedObjectReader(bucket, key, 10, bytes.length, 100);
    await reader.open();
    await readAll(reader);
    expect(ranges[0]).toEqual({ offset: 10, length: 100 });
    for (let i = 1; i < ranges.length; i++) expect(ranges[i]!.offset).toBe(ranges[i - 1]!.offset + ranges[i - 1]!.length);
    expect(ranges.at(-1)!.offset + ranges.at(-1)!.length).toBe(bytes.length);
  });

  it("has at most the window being read and the next one requested", async () => {
    const key = `reader/${crypto.randomUUID()}`;
    await env.UPLOADS.put(key, bytes);
    const { bucket, ranges } = recording(env.UPLOADS);
    const reader = new RangedObjectReader(bucket, key, 0, bytes.length, 50);
    await reader.open();
    expect(ranges.length).toBe(2);
    await reader.read();
    expect(ranges.length).toBe(2);
    await reader.cancel();
    expect((await reader.read()).done).toBe(true);
  });

  it("says when the file is not stored, or disappears between two windows", async () => {
    const key = `reader/${crypto.randomUUID()}`;
    expect(await new RangedObjectReader(env.UPLOADS, key, 0, 10, 4).open()).toBe(false);

    await env.UPLOADS.put(key, bytes);
    const reader = new RangedObjectReader(env.UPLOADS, key, 0, bytes.length, 32);
    await reader.open();
    await env.UPLOADS.delete(key);
    // The first window and the one requested ahead were asked for before the delete; the one after them was not.
    await expect(readAll(reader)).rejects.toBeInstanceOf(ObjectGoneError);
  });

  it("reads nothing at the end of the file, even when the object is gone", async () => {
    const reader = new RangedObjectReader(env.UPLOADS, `reader/${crypto.randomUUID()}`, 25, 25);
    expect(await reader.open()).toBe(true);
    expect((await reader.read()).done).toBe(true);
  });
});
