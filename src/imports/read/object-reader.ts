// Reads an uploaded file from a byte offset to its end as bounded ranged reads: one window at a time, the next
// window requested while the current one is read. However large the file, at most two windows are in flight, so
// what the runtime may buffer ahead of the parser is bounded, and a slice that hands over early leaves no large
// read behind.

/** Bytes per ranged read: a slice of ~40 MB takes a handful of reads, each far below the isolate's memory. */
export const WINDOW_BYTES = 8 * 1024 * 1024;

/** The file disappeared while it was being read (deleted between two windows). */
export class ObjectGoneError extends Error {}

export class RangedObjectReader {
  private nextOffset: number;
  private current: ReadableStreamDefaultReader<Uint8Array> | null = null;
  private pending: Promise<R2ObjectBody | null> | null = null;

  constructor(
    private readonly bucket: R2Bucket,
    private readonly key: string,
    from: number,
    private readonly end: number,
    private readonly windowBytes = WINDOW_BYTES,
  ) {
    this.nextOffset = from;
  }

  /** Starts reading; false when the object is not stored (any more). */
  async open(): Promise<boolean> {
    const first = this.request();
    if (!first) return true;
    const object = await first;
    if (!object) return false;
    this.current = object.body.getReader();
    this.pending = this.request();
    return true;
  }

  /** The next piece of the file, like a stream reader's read(). */
  async read(): Promise<ReadableStreamReadResult<Uint8Array>> {
    while (this.current) {
      const piece = await this.current.read();
      if (!piece.done) return piece;
      this.current = null;
      const next = this.pending;
      this.pending = null;
      if (!next) break;
      const object = await next;
      if (!object) throw new ObjectGoneError("the stored file disappeared while it was being read");
      this.current = object.body.getReader();
      this.pending = this.request();
    }
    return { done: true, value: undefined };
  }

  /** Stops reading; the window requested ahead is dropped. */
  async cancel(): Promise<void> {
    const { current, pending } = this;
    this.current = null;
    this.pending = null;
    await Promise.all([current?.cancel(), pending?.then((object) => object?.body.cancel()).catch(() => undefined)]);
  }

  private request(): Promise<R2ObjectBody | null> | null {
    if (this.nextOffset >= this.end) return null;
    const length = Math.min(this.windowBytes, this.end - this.nextOffset);
    const request = this.bucket.get(this.key, { range: { offset: this.nextOffset, length } });
    this.nextOffset += length;
    // A read-ahead may fail while the window before it is still being read: whoever awaits it sees the failure,
    // but it must not surface as an unhandled rejection meanwhile.
    request.catch(() => undefined);
    return request;
  }
}
