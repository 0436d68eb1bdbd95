/**
 * Decoders of compressed streams real loaders read and modelgate once refused (the payload was
 * never analysed, verdict `invalid`): bzip2 randomised blocks (libbz2), zip LZMA members decoded as
 * Python's zipfile does (no size limit, optional end marker, output cut at the declared size) and
 * deflate streams only miniz (PyTorch's zip reader) decodes. Samples: samples/zip-decoders/
 * (samples/generate/zip_decoders.py, checked there against libbz2, zipfile and torch 1.13).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { deflateRawSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { createBunzip2 } from "../../src/containers/compressed/bzip2.js";
import { derandomiseBlock, RANDOMISATION_GAPS } from "../../src/containers/compressed/bzip2-rand.js";
import { createZipLzma, type ZipLzma } from "../../src/containers/compressed/lzma.js";
import { minizInflate } from "../../src/containers/zip/miniz-inflate.js";
import { ruleIds, SAMPLES, scanOne } from "../helpers/scan.js";

const sample = (name: string) => new Uint8Array(readFileSync(join(SAMPLES, "zip-decoders", name)));

/** The compressed bytes, declared size and method of a zip member (central directory walk). */
function member(zip: Uint8Array, suffix: string): { data: Uint8Array; size: number; method: number } {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  let end = zip.length - 22;
  while (view.getUint32(end, true) !== 0x06054b50) end--;
  let at = view.getUint32(end + 16, true);
  for (let i = 0; i < view.getUint16(end + 10, true); i++) {
    const nameLength = view.getUint16(at + 28, true);
    const name = new TextDecoder().decode(zip.subarray(at + 46, at + 46 + nameLength));
    const local = view.getUint32(at + 42, true);
    if (name.endsWith(suffix)) {
      const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
      return {
        data: zip.subarray(start, start + view.getUint32(at + 20, true)),
        size: view.getUint32(at + 24, true),
        method: view.getUint16(at + 10, true),
      };
    }
    at += 46 + nameLength + view.getUint16(at + 30, true) + view.getUint16(at + 32, true);
  }
  throw new Error(`no member ${suffix}`);
}

/** Packs `[value, bits]` fields LSB-first, as deflate does. */
function bitsOf(...fields: [number, number][]): Uint8Array {
  const out: number[] = [];
  let acc = 0;
  let n = 0;
  for (const [value, count] of fields) {
    for (let i = 0; i < count; i++) {
      acc |= ((value >>> i) & 1) << n;
      if (++n === 8) {
        out.push(acc);
        acc = 0;
        n = 0;
      }
    }
  }
  if (n > 0) out.push(acc);
  return Uint8Array.from(out);
}

const decode = (decoder: NodeJS.ReadWriteStream, bytes: Uint8Array) =>
  buffer(Readable.from([Buffer.from(bytes)]).pipe(decoder as unknown as NodeJS.WritableStream & Readable));

describe("bzip2 randomised blocks", () => {
  it("has bzip2's 512-entry table", () => {
    expect(RANDOMISATION_GAPS.length).toBe(512);
    expect([...RANDOMISATION_GAPS.subarray(0, 4)]).toEqual([619, 720, 127, 481]);
    expect([...RANDOMISATION_GAPS.subarray(508)]).toEqual([858, 364, 936, 638]);
  });

  it("flips the low bit at libbz2's positions", () => {
    const data = new Uint8Array(2000);
    derandomiseBlock(data);
    expect([...data.keys()].filter((i) => data[i] !== 0)).toEqual([
      617,
      617 + 720,
      617 + 720 + 127,
      617 + 720 + 127 + 481,
    ]);
  });

  it("decodes a randomised stream (its CRCs are those of the de-randomised bytes)", async () => {
    const out = await decode(createBunzip2(), sample("bzip2-randomised.pkl.bz2"));
    expect(out[0]).toBe(0x80);
    expect(out.includes(Buffer.from("modelgate-decoders-sample"))).toBe(true);
  });

  it.each([
    ["bzip2-randomised.pkl.bz2", "malicious"],
    ["bzip2-randomised.npz", "malicious"],
    ["bzip2-randomised-benign.npz", "clean"],
  ])("%s is %s", async (name, verdict) => {
    const file = await scanOne(sample(name), name);
    expect(file.verdict).toBe(verdict);
    expect(ruleIds(file)).not.toContain("format/unsupported");
  });
});

describe("zip LZMA members as Python's zipfile reads them", () => {
  it("cuts a stream that runs past the declared size and flags it", async () => {
    const m = member(sample("lzma-longer.npz"), "x.npy");
    const decoder = createZipLzma(m.size) as ZipLzma;
    const out = await decode(decoder, m.data);
    expect(out.length).toBe(m.size);
    expect(decoder.overrun).toBe(true);
  });

  it("ends at an early end marker without an error", async () => {
    const m = member(sample("lzma-shorter.npz"), "x.npy");
    const decoder = createZipLzma(m.size) as ZipLzma;
    const out = await decode(decoder, m.data);
    expect(out.length).toBe(m.size - 5000);
    expect(decoder.overrun).toBe(false);
  });

  it("keeps what decoded when the input ends without an end marker", async () => {
    const m = member(sample("lzma-longer.npz"), "x.npy");
    // the stream's first half: zipfile gives what it decodes, no error
    const out = await decode(createZipLzma(1 << 20), m.data.subarray(0, 200));
    expect(out.length).toBeGreaterThan(100);
    expect(out.subarray(0, 6).toString("latin1")).toBe("\x93NUMPY");
  });

  it.each([
    ["lzma-longer.npz", "malicious"],
    ["lzma-shorter.npz", "malicious"],
    ["lzma-benign.npz", "clean"],
  ])("%s is %s", async (name, verdict) => {
    const file = await scanOne(sample(name), name);
    expect(file.verdict).toBe(verdict);
    expect(ruleIds(file)).not.toContain("container/malformed-stream");
    if (verdict === "malicious") expect(ruleIds(file)).toContain("zip/size-mismatch");
  });
});

describe("deflate streams only miniz decodes (PyTorch archives)", () => {
  const pickleOf = (name: string) => member(sample(name), "data.pkl");

  it.each([
    ["deflate-hlit288.pt", "288 literal/length codes"],
    ["deflate-one-symbol.pt", "an incomplete literal/length code"],
    ["deflate-len286.pt", "length symbol 286"],
  ])("decodes %s as miniz does (%s)", (name, quirk) => {
    const m = pickleOf(name);
    const r = minizInflate(m.data, m.size);
    expect(r.status).toBe("done");
    expect(r.written).toBe(m.size);
    expect(r.quirks.join("; ")).toContain(quirk);
    expect(Buffer.from(r.output).toString("latin1")).toContain("modelgate-decoders-sample");
  });

  it.each([0, 1, 6, 9])("decodes zlib's level-%i output as zlib does", (level) => {
    const text = Buffer.from(Array.from({ length: 3000 }, (_, i) => `row ${i % 97} ${(i * 31) % 1000}`).join("\n"));
    const r = minizInflate(deflateRawSync(text, { level }), text.length);
    expect(r.status).toBe("done");
    expect(r.quirks).toEqual([]);
    expect(Buffer.from(r.output).equals(text)).toBe(true);
  });

  it("counts distance-0 copies as undefined bytes", () => {
    const m = pickleOf("deflate-dist30.pt");
    const r = minizInflate(m.data, m.size);
    expect(r.status).toBe("done");
    expect(r.undefinedBytes).toBe(3);
  });

  it("keeps the output before a failing block", () => {
    const m = pickleOf("deflate-partial.pt");
    const r = minizInflate(m.data, m.size);
    expect(r.status).toBe("failed");
    expect(r.written).toBe(m.size - 64);
  });

  it("stops at the declared size", () => {
    const m = pickleOf("deflate-len286.pt");
    const r = minizInflate(m.data, 10);
    expect(r.status).toBe("output-full");
    expect(r.output.length).toBe(10);
  });

  it("refuses an over-subscribed code, as miniz does", () => {
    // dynamic block, 257 + 1 codes, 4 code-length codes: 16, 17 and 18 of 1 bit (over-subscribed)
    const r = minizInflate(bitsOf([1, 1], [2, 2], [0, 5], [0, 5], [0, 4], [1, 3], [1, 3], [1, 3], [0, 3]), 100);
    expect(r.status).toBe("failed");
    expect(r.reason).toContain("code-length");
  });

  // a literal/length code without symbols: tinfl decodes literal 0 without consuming bits, until
  // the output is full (the code-length code: 0 and 18 of 1 bit; two runs of 18 give 258 zeros)
  const noSymbols = bitsOf(
    [1, 1],
    [2, 2],
    [0, 5],
    [0, 5],
    [0, 4],
    [0, 3],
    [0, 3],
    [1, 3],
    [1, 3],
    [1, 1],
    [127, 7],
    [1, 1],
    [109, 7],
  );

  it("decodes unassigned patterns of an empty code as symbol 0 up to the declared size", () => {
    const r = minizInflate(noSymbols, 1000);
    expect(r.status).toBe("output-full");
    expect(r.written).toBe(1000);
  });

  it("calls the deadline checkpoint in long loops", () => {
    // 200 000 literal symbols (Huffman only: no copies); `noSymbols` fills its buffer at once
    const plain = new Uint8Array(200_000).map((_, i) => 97 + (i % 7));
    const literals = deflateRawSync(plain, { strategy: 2 });
    let calls = 0;
    const result = minizInflate(literals, plain.length, { checkpoint: () => calls++ });
    expect(result.status).toBe("done");
    expect(calls).toBeGreaterThanOrEqual(3);
    expect(() =>
      minizInflate(literals, plain.length, {
        checkpoint: () => {
          throw new Error("deadline");
        },
      }),
    ).toThrow("deadline");
  });

  it.each([
    ["deflate-hlit288.pt", "zip/deflate-miniz-only"],
    ["deflate-one-symbol.pt", "zip/deflate-miniz-only"],
    ["deflate-len286.pt", "zip/deflate-miniz-only"],
    ["deflate-dist30.pt", "zip/member-undecodable"],
    ["deflate-partial.pt", "zip/member-undecodable"],
  ])("%s: the pickle is analysed and the stream reported %s", async (name, rule) => {
    const file = await scanOne(sample(name), name);
    expect(file.verdict).toBe("malicious");
    expect(ruleIds(file)).toContain(rule);
    expect(ruleIds(file)).toContain("pickle/dangerous-global");
    expect(file.findings.find((f) => f.ruleId === rule)?.severity).toBe("high");
  });

  // streams checked against torch 1.13's PyTorchFileReader (get_record gives the bytes noted)
  it.each([
    [
      // a one-symbol literal code (256 of 2 bits) meeting 1 bits: literal 0 until the buffer is full
      `05e0db9224499224db02${"00".repeat(127)}20fcff03`,
      40,
      "\0".repeat(40),
    ],
    [
      // a one-symbol distance code of 3 bits: "ab", then a copy of 3 from distance 1
      `fde0db9224499224dbba${"bb".repeat(71)}47${"44".repeat(55)}98${"99".repeat(11)}b9bbbbbb5362121000`,
      5,
      "abbbb",
    ],
  ])("decodes as torch 1.13 does (%#)", (hex, size, want) => {
    const r = minizInflate(Uint8Array.from(Buffer.from(hex, "hex")), size);
    expect(Buffer.from(r.output).toString("latin1")).toBe(want);
  });

  it("in zlib mode fails where zlib fails, keeping what inflated before", () => {
    const quirky = pickleOf("deflate-hlit288.pt");
    const strict = minizInflate(quirky.data, quirky.size, { zlib: true });
    expect(strict.status).toBe("failed");
    expect(strict.written).toBe(0);
    expect(strict.reason).toContain("288 literal/length codes");
    const m = member(sample("deflate-prefix.npz"), "x.npy");
    const r = minizInflate(m.data, m.size, { zlib: true });
    expect(r.status).toBe("failed");
    expect(r.written).toBe(m.size);
  });

  it("analyses what a zlib reader hands on before a stream's error (np.load unpickles it)", async () => {
    const file = await scanOne(sample("deflate-prefix.npz"), "deflate-prefix.npz");
    expect(file.verdict).toBe("malicious");
    expect(ruleIds(file)).toContain("pickle/dangerous-global");
    expect(ruleIds(file)).toContain("container/malformed-stream");
  });

  it("keeps a plain torch.save checkpoint clean", async () => {
    const file = await scanOne(sample("torch-benign.pt"), "torch-benign.pt");
    expect(file.verdict).toBe("clean");
  });
});
