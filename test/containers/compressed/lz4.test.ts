/**
 * The LZ4 frame decoder against python-lz4 (liblz4 1.9.4): every file of samples/lz4 decodes to
 * the bytes `LZ4FrameFile.read()` returns, or fails where it raises (samples/lz4/frames.json,
 * written by samples/generate/lz4_frames.py, so no Python is needed here); xxHash32 against the
 * `xxhash` package's values; chunked input; pacing and budgets on a frame of 4 MiB blocks.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createUnLz4, decodeLz4Block, type UnLz4, Xxh32, xxh32 } from "../../../src/containers/compressed/lz4.js";
import { decompress } from "../../../src/containers/compressed/streams.js";
import { isModelgateError } from "../../../src/core/errors.js";
import { joblibAnalyzer } from "../../../src/formats/joblib/analyzer.js";
import { BufferSource } from "../../../src/sources/byte-source.js";
import { fakeContext } from "../../formats/pickle/helpers.js";
import { testBudget } from "../../helpers/budget.js";

const budget = testBudget;

const SAMPLES = new URL("../../../samples/lz4/", import.meta.url);
const bytesOf = (name: string): Buffer => readFileSync(new URL(name, SAMPLES));
const sha256 = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

interface PythonReading {
  /** `LZ4FrameFile(...).read()`: "ok" or the exception. */
  frameFile: string;
  /** `lz4.frame.decompress` (the first frame only): "ok" or the exception. */
  decompress: string;
  length?: number;
  sha256?: string;
  decompressLength?: number;
  decompressSha256?: string;
  note?: string;
}

const MANIFEST = JSON.parse(readFileSync(new URL("frames.json", SAMPLES), "utf8")) as Record<string, PythonReading>;

/**
 * Where modelgate knowingly differs from python-lz4:
 * - bytes after the last frame that start no frame: LZ4FrameFile raises once read to the end (a
 *   new decompressor on them); modelgate decodes the frames and reports the bytes as trailing (the
 *   loader reads only as far as the pickle, which may end before them).
 * - offset 0: liblz4 1.9.4 copies zeros; modelgate refuses the block.
 */
const TRAILING = new Set(["garbage-after-frame.lz4", "partial-magic-after-frame.lz4"]);
const STRICTER = new Set(["offset-zero.lz4"]);

const failsAsCorrupt = (e: unknown): boolean => isModelgateError(e, "MALFORMED") || isModelgateError(e, "TRUNCATED");

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) parts.push(chunk);
  return Buffer.concat(parts);
}

/** Writes `input` to a fresh decoder in chunks of the given sizes (cycled) and reads everything. */
async function decodeChunked(input: Uint8Array, sizes: number[]): Promise<{ out: Buffer; decoder: UnLz4 }> {
  const decoder = createUnLz4() as UnLz4;
  const output = readAll(decoder);
  let at = 0;
  for (let i = 0; at < input.length; i++) {
    const n = sizes[i % sizes.length] as number;
    if (!decoder.write(input.subarray(at, at + n))) await new Promise((r) => decoder.once("drain", r));
    at += n;
  }
  decoder.end();
  return { out: await output, decoder };
}

describe("xxHash32", () => {
  // python3 -c "import xxhash; print(xxhash.xxh32(data, seed=seed).intdigest())"
  const vectors: [Uint8Array, number, number][] = [
    [new Uint8Array(0), 0, 46947589],
    [Buffer.from("a"), 0, 1426945110],
    [Buffer.from("abc"), 0, 852579327],
    [Buffer.from("0123456789abcde"), 0, 498989583],
    [Buffer.from("0123456789abcdef"), 0, 3267648361],
    [Buffer.from("Nobody inspects the spammish repetition"), 0, 3794352943],
    [Uint8Array.from({ length: 768 }, (_, i) => i & 0xff), 0, 3451471537],
    [Uint8Array.from({ length: 100 }, (_, i) => i), 0x9747b28c, 1808496064],
    [new Uint8Array(0), 1, 187479954],
  ];

  it.each(vectors.map((v, i) => [i, ...v] as const))("vector %i", (_i, data, seed, want) => {
    expect(xxh32(data, seed)).toBe(want);
  });

  it("gives the same digest fed in pieces", () => {
    const data = Uint8Array.from({ length: 1000 }, (_, i) => (i * 31) & 0xff);
    for (const piece of [1, 3, 7, 15, 16, 17, 100]) {
      const h = new Xxh32();
      for (let at = 0; at < data.length; at += piece) h.update(data.subarray(at, at + piece));
      expect(h.digest(), `pieces of ${piece}`).toBe(xxh32(data));
    }
  });
});

describe("LZ4 frames against python-lz4 (samples/lz4/frames.json)", () => {
  it("lists every .lz4 sample", () => {
    expect(Object.keys(MANIFEST).length).toBeGreaterThanOrEqual(40);
  });

  it.each(Object.entries(MANIFEST))("%s", async (name, python) => {
    const input = bytesOf(name);
    const result = decompress("lz4", new BufferSource(input), budget());
    if (TRAILING.has(name)) {
      // python: LZ4FrameFile raises at the bytes after the frame; lz4.frame.decompress reads the frame
      expect(python.frameFile).not.toBe("ok");
      expect(python.decompress).toBe("ok");
      const r = await result;
      const content = await r.source.read(0, r.source.size);
      expect(content.length).toBe(python.decompressLength);
      expect(sha256(content)).toBe(python.decompressSha256);
      expect(r.trailing?.length).toBeGreaterThan(0);
      expect((r.trailing?.offset ?? 0) + (r.trailing?.length ?? 0)).toBe(input.length);
      return;
    }
    if (STRICTER.has(name)) {
      expect(python.frameFile).toBe("ok");
      await expect(result).rejects.toSatisfy(failsAsCorrupt);
      return;
    }
    if (python.frameFile === "ok") {
      const r = await result;
      const content = await r.source.read(0, r.source.size);
      expect(content.length).toBe(python.length);
      expect(sha256(content)).toBe(python.sha256);
      expect(r.trailing).toBeUndefined();
    } else {
      await expect(result).rejects.toSatisfy(failsAsCorrupt);
    }
  });
});

describe("LZ4 decoder", () => {
  it("decodes the same whatever the input's chunking, and counts the bytes after the frames", async () => {
    const input = bytesOf("b4-linked-checksums.lz4");
    const whole = createUnLz4();
    whole.end(input);
    const want = await readAll(whole);
    expect(sha256(want)).toBe(MANIFEST["b4-linked-checksums.lz4"]?.sha256);
    for (const sizes of [[1], [3, 7], [4096], [65_536, 1]]) {
      const { out } = await decodeChunked(input, sizes);
      expect(out.equals(want), `chunks of ${sizes}`).toBe(true);
    }
    const skippable = bytesOf("skippable-between.lz4");
    const { out, decoder } = await decodeChunked(Buffer.concat([skippable, Buffer.from("tail")]), [5]);
    expect(out.length).toBe(MANIFEST["skippable-between.lz4"]?.length);
    expect(decoder.bytesWritten).toBe(skippable.length);
  });

  it("refuses input that starts with no frame", async () => {
    for (const input of [Buffer.from("not lz4 at all"), Buffer.alloc(0), Buffer.from([0x04, 0x22])]) {
      await expect(decompress("lz4", new BufferSource(input), budget())).rejects.toSatisfy(failsAsCorrupt);
    }
  });

  it("decodes overlapping matches and refuses matches before the output", () => {
    // (python-lz4 decodes these blocks, framed, to the same bytes, and refuses the same ones)
    const win = new Uint8Array(64 * 1024 + 70_000);
    const text = (n: number) => Buffer.from(win.subarray(0, n)).toString();
    // "ab", then a match of 10 at offset 2, then 5 literals
    const block = Uint8Array.from([0x26, 0x61, 0x62, 0x02, 0x00, 0x50, ...Buffer.from("12345")]);
    expect(text(decodeLz4Block(block, win, 0, 0, 64 * 1024))).toBe("abababababab12345");
    // 4 literals at the end: the first literals end within 8 bytes of the block's end, which liblz4
    // takes for the last sequence: refused
    const short = Uint8Array.from([0x26, 0x61, 0x62, 0x02, 0x00, 0x40, ...Buffer.from("1234")]);
    expect(() => decodeLz4Block(short, win, 0, 0, 64 * 1024)).toThrow(/corrupt block/);
    const padded = Uint8Array.from([0xe6, ...Buffer.from("abcdefghijklmn"), 0x02, 0x00, 0x50, ...Buffer.from("12345")]);
    expect(text(decodeLz4Block(padded, win, 0, 0, 64 * 1024))).toBe(`abcdefghijklmn${"mn".repeat(5)}12345`);
    const before = Uint8Array.from([0xe6, ...Buffer.from("abcdefghijklmn"), 0x0f, 0x00, 0x50, ...Buffer.from("12345")]);
    expect(() => decodeLz4Block(before, win, 0, 0, 64 * 1024)).toThrow(/before the start/);
    // the same offset is fine with 1 byte of history (a linked block)
    win[99] = 0x5a;
    expect(decodeLz4Block(before, win, 100, 1, 64 * 1024)).toBe(14 + 10 + 5);
  });

  it("stops a frame of 4 MiB blocks at the byte budget, one block at a time", async () => {
    // each block: one literal, then a match at offset 1 as long as the block maximum allows,
    // then 5 literals: ~16 KB of input for 4 MiB of output; 200 blocks is 800 MiB
    const max = 4 * 1024 * 1024;
    const matchLength = max - 1 - 5 - 12;
    const ext: number[] = [];
    for (let left = matchLength - 4 - 15; ; left -= 255) {
      if (left < 255) {
        ext.push(left);
        break;
      }
      ext.push(255);
    }
    const block = Uint8Array.from([0x1f, 0x00, 0x01, 0x00, ...ext, 0x50, 1, 2, 3, 4, 5]);
    const win = new Uint8Array(64 * 1024 + max);
    expect(decodeLz4Block(block, win, 0, 0, max)).toBe(1 + matchLength + 5);
    const header = Uint8Array.from([0x04, 0x22, 0x4d, 0x18, 0x60, 0x70, 0]);
    header[6] = (xxh32(header.subarray(4, 6)) >>> 8) & 0xff;
    const size = new Uint8Array(4);
    new DataView(size.buffer).setUint32(0, block.length, true);
    const parts: Uint8Array[] = [header];
    for (let i = 0; i < 200; i++) parts.push(size, block);
    parts.push(new Uint8Array(4));
    const bomb = Buffer.concat(parts);
    const b = budget(64 << 20);
    await expect(decompress("lz4", new BufferSource(bomb), b)).rejects.toThrow("over");
    expect(b.used).toBeLessThan(80 << 20);
    // and at the ratio budget
    await expect(decompress("lz4", new BufferSource(bomb), budget(1 << 30, 100))).rejects.toSatisfy(
      (e) => isModelgateError(e, "BUDGET_EXCEEDED") && e.budget === "maxCompressionRatio",
    );
  }, 60_000);
});

describe("joblib files written with compress='lz4'", () => {
  it("reads the pickle in them (a child Python proved joblib.load runs evil.joblib's payload)", async () => {
    const evil = fakeContext(new Uint8Array(bytesOf("evil.joblib")), "joblib");
    await joblibAnalyzer.analyze(evil.ctx);
    expect(evil.facts["joblib.compression"]).toBe("lz4");
    expect(evil.findings.map((f) => f.evidence?.callee)).toContain("posix.system");
    const benign = fakeContext(new Uint8Array(bytesOf("logistic.joblib")), "joblib");
    await joblibAnalyzer.analyze(benign.ctx);
    expect(benign.findings).toEqual([]);
    expect(benign.facts["sklearn.estimators"]).toEqual(
      expect.arrayContaining(["sklearn.linear_model._logistic.LogisticRegression"]),
    );
  });

  it("reports a corrupt frame as a malformed stream", async () => {
    const bytes = bytesOf("evil.joblib");
    const cut = fakeContext(new Uint8Array(bytes.subarray(0, bytes.length - 9)), "joblib");
    await joblibAnalyzer.analyze(cut.ctx);
    expect(cut.findings.map((f) => f.ruleId)).toEqual(["container/malformed-stream"]);
  });
});
