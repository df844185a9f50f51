// A fetched file streamed into R2 without being held whole: in one put when its length is known (Content-Length), else
// in parts of R2's smallest part size, each held in memory only while it is sent.
import { concatBytes } from "../bytes.ts";
import { R2_MIN_PART_BYTES } from "../model/upload-session.ts";

/** Stores the stream under `key` and answers its size; throws what the stream threw (the object is then not left behind). */
export async function storeStream(
  bucket: R2Bucket,
  key: string,
  body: ReadableStream<Uint8Array>,
  length: number | null,
  httpMetadata: R2HTTPMetadata,
): Promise<number> {
  try {
    if (length !== null) {
      // FixedLengthStream gives R2 the length up front and rejects a body shorter or longer than declared.
      const fixed = new FixedLengthStream(length);
      const [pipe, put] = await Promise.allSettled([body.pipeTo(fixed.writable), bucket.put(key, fixed.readable, { httpMetadata })]);
      if (pipe.status === "rejected") throw pipe.reason;
      if (put.status === "rejected") throw put.reason;
      return length;
    }
    return await storeInParts(bucket, key, body, httpMetadata);
  } catch (err) {
    await bucket.delete(key).catch(() => undefined);
    throw err;
  }
}

async function storeInParts(bucket: R2Bucket, key: string, body: ReadableStream<Uint8Array>, httpMetadata: R2HTTPMetadata): Promise<number> {
  const reader = body.getReader();
  let upload: R2MultipartUpload | null = null;
  const parts: R2UploadedPart[] = [];
  let held: Uint8Array[] = [];
  let heldBytes = 0;
  let size = 0;
  const sendHeld = async () => {
    upload ??= await bucket.createMultipartUpload(key, { httpMetadata });
    // The chunks are let go as soon as they are joined: only the part itself is held while it is sent.
    const part = concatBytes(held, heldBytes);
    held = [];
    heldBytes = 0;
    parts.push(await upload.uploadPart(parts.length + 1, part));
  };
  try {
    for (let next = await reader.read(); !next.done; next = await reader.read()) {
      held.push(next.value);
      heldBytes += next.value.byteLength;
      size += next.value.byteLength;
      if (heldBytes >= R2_MIN_PART_BYTES) await sendHeld();
    }
    if (upload === null) {
      await bucket.put(key, concatBytes(held, heldBytes), { httpMetadata });
      return size;
    }
    // The last part may be smaller than the others.
    if (heldBytes > 0) await sendHeld();
    await (upload as R2MultipartUpload).complete(parts);
    return size;
  } catch (err) {
    await reader.cancel(err).catch(() => undefined);
    await (upload as R2MultipartUpload | null)?.abort().catch(() => undefined);
    throw err;
  }
}
