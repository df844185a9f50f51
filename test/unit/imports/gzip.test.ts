// The resumable gzip decoder against zlib's own output: every block type and strategy, input in pieces of any size,
// parts of any size, resumed from the JSON of every saved point; and damaged data always fails, never decodes.
import * as zlib from "node:zlib";
import { describe, expect, it } from "vitest";
import { concatBytes } from "../../../src/bytes.ts";
import { crc32, GzipDecoder, GzipFormatError, type GzipResumePoint } from "../../../src/imports/read/gzip.ts";

// Plain arrays: a Buffer's slice() is a view, and a damaged copy must not damage the original.
const gzipSync = (data: Uint8Array, options?: zlib.ZlibOptions) => new Uint8Array(zlib.gzipSync(data, options));
const { constants, deflateRawSync } = zlib;

const text = (n: number) => {
  let csv = "sku,name,price,description\n";
  for (let i = 0; csv.length < n; i++) csv += `SKU-${i},Product ${i % 97},${(i * 7) % 1000}.99,"A ${i % 13 === 0 ? "long " : ""}description of item ${i}"\n`;
  return new TextEncoder().encode(csv.slice(0, n));
};
const random = (n: number, seed = 1) => {
  const bytes = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  return bytes;
};

/**
 * Decodes `gz` with parts of `partBytes`, fed `pieceBytes` at a time, pausing after each `pauseBytes` of output; with
 * `resume`, every part continues in a new decoder from its saved point's JSON.
 */
function inflate(gz: Uint8Array, { partBytes = 1000, pieceBytes = 777, resume = false, pauseBytes = Infinity } = {}): Uint8Array {
  const parts: Uint8Array[] = [];
  let decoder = new GzipDecoder(partBytes);
  let at = 0;
  for (;;) {
    const step = decoder.run(pauseBytes);
    if (step === "pause") continue;
    if (step === "input") {
      const piece = gz.subarray(at, at + pieceBytes);
      at += piece.length;
      decoder.push(piece, at >= gz.length);
      continue;
    }
    parts.push(decoder.part().slice());
    if (step === "end") break;
    decoder.nextPart();
    if (resume) {
      const point = JSON.parse(JSON.stringify(decoder.resumePoint())) as GzipResumePoint;
      decoder = new GzipDecoder(partBytes, point, parts.length);
      at = decoder.inputStart;
    }
  }
  for (const part of parts.slice(0, -1)) expect(part.length).toBe(partBytes);
  return concatBytes(parts, parts.reduce((n, p) => n + p.length, 0));
}

/** Asserts two byte arrays equal, naming the first difference (toEqual walks a large array element by element, slowly). */
function expectBytes(actual: Uint8Array, expected: Uint8Array): void {
  let at = 0;
  while (at < actual.length && at < expected.length && actual[at] === expected[at]) at++;
  expect({ length: actual.length, firstDifference: at === actual.length && at === expected.length ? null : at }).toEqual({ length: expected.length, firstDifference: null });
}

function failure(gz: Uint8Array, options?: Parameters<typeof inflate>[1]): GzipFormatError {
  try {
    inflate(gz, options);
  } catch (err) {
    if (err instanceof GzipFormatError) return err;
    throw err;
  }
  throw new Error("the data decoded");
}

describe("GzipDecoder", () => {
  const inputs = { text: text(300_000), random: random(100_000), runs: new Uint8Array(300_000).fill(97), empty: new Uint8Array(0) };
  const settings = {
    "level 6": {},
    "level 1": { level: 1 },
    "level 9": { level: 9 },
    "stored (level 0)": { level: 0 },
    "fixed codes": { strategy: constants.Z_FIXED },
    "Huffman only": { strategy: constants.Z_HUFFMAN_ONLY },
    "run lengths": { strategy: constants.Z_RLE },
  };

  for (const [name, input] of Object.entries(inputs)) {
    for (const [setting, options] of Object.entries(settings)) {
      it(`inflates ${name} data compressed with ${setting}, in parts and resumed at each`, () => {
        const gz = gzipSync(input, options);
        expectBytes(inflate(gz), input);
        expectBytes(inflate(gz, { partBytes: 300, pieceBytes: 100_000 }), input);
        expectBytes(inflate(gz, { partBytes: 10_000, pieceBytes: 100_000, pauseBytes: 1 }), input);
        expectBytes(inflate(gz, { partBytes: 4096, resume: true }), input);
        expectBytes(inflate(gz, { partBytes: 65_536, pieceBytes: 1, resume: true }), input);
      });
    }
  }

  it("inflates members one after the other, resumed at every part", () => {
    const members = [text(1500), new Uint8Array(0), random(1000), text(10)];
    const gz = concatBytes(members.map((m) => gzipSync(m)), members.reduce((n, m) => n + gzipSync(m).length, 0));
    const whole = concatBytes(members, members.reduce((n, m) => n + m.length, 0));
    for (const partBytes of [1, 7, 100, 1499, 1500, 1501, 100_000]) expectBytes(inflate(gz, { partBytes, resume: true }), whole);
  });

  it("reads a header with extra field, file name, comment and header checksum", () => {
    const data = text(2000);
    const header = [0x1f, 0x8b, 8, 0x04 | 0x08 | 0x10 | 0x02, 0, 0, 0, 0, 0, 3, 3, 0, 1, 2, 3, ...new TextEncoder().encode("catalog.csv"), 0, ...new TextEncoder().encode("a comment"), 0];
    const headerCrc = crc32(0, new Uint8Array(header)) & 0xffff;
    const trailer = new Uint8Array(8);
    new DataView(trailer.buffer).setUint32(0, crc32(0, data), true);
    new DataView(trailer.buffer).setUint32(4, data.length, true);
    const gz = new Uint8Array([...header, headerCrc & 0xff, headerCrc >> 8, ...deflateRawSync(data), ...trailer]);
    expectBytes(inflate(gz, { pieceBytes: 3 }), data);
    gz[header.length] = gz[header.length]! ^ 1;
    expect(failure(gz).message).toBe("the gzip header's checksum does not match");
  });

  it("computes CRC-32 as gzip does", () => {
    expect(crc32(0, new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
    expect(crc32(crc32(0, new TextEncoder().encode("1234")), new TextEncoder().encode("56789"))).toBe(0xcbf43926);
  });

  it("fails on data that is not gzip, is empty, or has bytes after its end", () => {
    expect(failure(new TextEncoder().encode("sku,name\nA,B\n"))).toMatchObject({ message: "the data is not gzip (it does not start with the bytes 1F 8B)", byte: 0 });
    expect(failure(new Uint8Array(0)).message).toBe("the data is empty, not gzip");
    const gz = gzipSync(text(100));
    expect(failure(new Uint8Array([...gz, 0, 0])).message).toBe("bytes follow the end of the gzip data that are not another gzip member");
  });

  it("fails on the data cut off anywhere", () => {
    const gz = gzipSync(text(20_000));
    for (let length = 1; length < gz.length; length += length < 40 ? 1 : 97) {
      expect(failure(gz.subarray(0, length), { pieceBytes: 500 }).message, `cut at ${length}`).toMatch(/cut off|empty/);
    }
  });

  it("fails on a flipped bit anywhere past the header, whatever it breaks", () => {
    for (const input of [text(20_000), random(5000)]) {
      const gz = gzipSync(input);
      for (let at = 10; at < gz.length; at += 13) {
        const damaged = gz.slice();
        damaged[at] = damaged[at]! ^ (1 << at % 8);
        expect(() => inflate(damaged), `flip at ${at}`).toThrow(GzipFormatError);
      }
    }
  });

  it("fails on a checksum or a length that does not match", () => {
    const gz = gzipSync(text(1000));
    const badCrc = gz.slice();
    badCrc[gz.length - 8] = badCrc[gz.length - 8]! ^ 0xff;
    expect(failure(badCrc).message).toBe("the inflated data does not match the gzip checksum (CRC-32): the file is damaged");
    const badLength = gz.slice();
    badLength[gz.length - 1] = 1;
    expect(failure(badLength).message).toBe("the inflated length does not match the gzip trailer: the file is damaged");
  });
});
