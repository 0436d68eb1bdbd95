import { readFileSync } from "node:fs";
import { Transform } from "node:stream";
import { deflateSync, gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { decompressedName } from "../../src/containers/compressed/analyzer.js";
import {
  DecodedWindowSource,
  decodeInto,
  decodeStream,
  SpillSink,
} from "../../src/containers/compressed/decoded-source.js";
import { decompress, zstdAvailable } from "../../src/containers/compressed/streams.js";
import { isModelgateError } from "../../src/core/errors.js";
import { BufferSource, readClamped } from "../../src/sources/byte-source.js";
import { testBudget } from "../helpers/budget.js";

const budget = testBudget;
const text = (b: Uint8Array) => Buffer.from(b).toString();

describe("compressed streams", () => {
  it("decodes every gzip member and keeps the original name", async () => {
    const a = gzipSync("hello ");
    const b = gzipSync("world");
    const r = await decompress("gzip", new BufferSource(Buffer.concat([a, b])), budget());
    expect(r.members).toBe(2);
    expect(text(await r.source.read(0, 100))).toBe("hello world");
    expect(r.trailing).toBeUndefined();
  });

  it("reports trailing bytes after gzip, but not zero padding", async () => {
    const g = gzipSync("x");
    const r = await decompress("gzip", new BufferSource(Buffer.concat([g, Buffer.from("junk")])), budget());
    expect(r.trailing).toEqual({ offset: g.length, length: 4 });
    const z = await decompress("gzip", new BufferSource(Buffer.concat([g, Buffer.alloc(100)])), budget());
    expect(z.trailing).toBeUndefined();
  });

  it("reports a bad gzip trailer CRC", async () => {
    const g = Buffer.from(gzipSync("payload"));
    g[g.length - 8] = (g[g.length - 8] as number) ^ 0xff;
    const r = await decompress("gzip", new BufferSource(g), budget());
    expect(r.findings.map((f) => f.ruleId)).toContain("container/malformed-stream");
  });

  it("throws MALFORMED on a truncated gzip stream", async () => {
    const g = gzipSync(Buffer.alloc(100_000, 1));
    await expect(decompress("gzip", new BufferSource(g.subarray(0, g.length - 20)), budget())).rejects.toSatisfy(
      (e) => isModelgateError(e, "MALFORMED") || isModelgateError(e, "TRUNCATED"),
    );
  });

  it("decodes zlib and reports trailing data", async () => {
    const z = deflateSync("zlib data");
    const r = await decompress("zlib", new BufferSource(Buffer.concat([z, Buffer.from("!!")])), budget());
    expect(text(await r.source.read(0, 100))).toBe("zlib data");
    expect(r.trailing?.length).toBe(2);
  });

  it.runIf(zstdAvailable())("decodes zstd", async () => {
    const zlib = (await import("node:zlib")) as unknown as { zstdCompressSync: (b: Buffer) => Buffer };
    const r = await decompress("zstd", new BufferSource(zlib.zstdCompressSync(Buffer.from("zstd!"))), budget());
    expect(text(await r.source.read(0, 10))).toBe("zstd!");
  });

  it("stops a gzip bomb at the ratio budget and at the byte budget", async () => {
    const bomb = gzipSync(Buffer.alloc(40 * 1024 * 1024), { level: 9 });
    await expect(decompress("gzip", new BufferSource(bomb), budget(1 << 30, 100))).rejects.toSatisfy(
      (e) => isModelgateError(e, "BUDGET_EXCEEDED") && e.budget === "maxCompressionRatio",
    );
    await expect(decompress("gzip", new BufferSource(bomb), budget(1 << 20))).rejects.toThrow("over");
  });

  it("spills large output to a temporary file and deletes it on close", async () => {
    const data = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
    const zlib = await import("node:zlib");
    const { source } = await decodeStream(new BufferSource(gzipSync(data)), () => zlib.createGunzip(), budget(), {
      memoryBytes: 1024 * 1024,
    });
    expect(source.size).toBe(data.length);
    expect(Buffer.from(await readClamped(source, 2_000_000, 16)).equals(data.subarray(2_000_000, 2_000_016))).toBe(
      true,
    );
    await source.close?.();
    await expect(source.read(0, 1)).rejects.toBeDefined();
  });

  it("takes a decoder's output in pieces of its own buffer size, however much it pushes at once", async () => {
    // A decoder that answers each input chunk with 48 chunks of 64 KiB pushed at once, as the
    // bzip2 decoder does for a block of runs. Pulling must not join them (the stream's async
    // iterator did: one 3 MiB buffer per pull), and must keep every byte in order.
    const piece = 64 * 1024;
    const burst = () =>
      new Transform({
        readableHighWaterMark: piece,
        transform(chunk: Buffer, _encoding, done) {
          for (let k = 0; k < 48; k++) this.push(Buffer.alloc(piece, (chunk[0] as number) + k));
          done();
        },
      });
    const input = new BufferSource(Uint8Array.from([0, 100]));
    const sizes: number[] = [];
    const seen: number[] = [];
    const sink = new SpillSink({ memoryBytes: 1 << 30 });
    const totals = await decodeInto(input, burst, budget(), "burst", sink, (chunk) => {
      sizes.push(chunk.length);
      seen.push(chunk[0] as number, chunk[chunk.length - 1] as number);
    });
    expect(totals.produced).toBe(48 * piece);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(piece);
    expect(seen).toEqual(Array.from({ length: 48 }, (_, k) => [k, k]).flat());
    await sink.abort();
    // the same through a window source whose size is declared
    const window = new DecodedWindowSource(input, 48 * piece, burst, budget(), "burst");
    const all = await window.read(0, 48 * piece);
    expect(all.length).toBe(48 * piece);
    for (let k = 0; k < 48; k++) expect(all[k * piece + 17]).toBe(k);
    await window.close();
  });

  it("fails a pull with the decoder's error, and ends at its end", async () => {
    const failing = () =>
      new Transform({
        transform(_chunk, _encoding, done) {
          this.push(Buffer.alloc(10));
          done(new Error("corrupt input"));
        },
      });
    await expect(
      decodeStream(new BufferSource(Uint8Array.from([1, 2, 3])), failing, budget(), { label: "bad" }),
    ).rejects.toThrow(/corrupt input/);
    const empty = () =>
      new Transform({
        transform(_chunk, _encoding, done) {
          done();
        },
      });
    const { source } = await decodeStream(new BufferSource(Uint8Array.from([1])), empty, budget());
    expect(source.size).toBe(0);
  });

  it("ends a pull that waits on a stalled decoder when the scan is aborted", async () => {
    const stalled = () =>
      new Transform({
        transform() {
          // never calls back: no output, no error, no end
        },
      });
    const controller = new AbortController();
    const b = { ...budget(), signal: controller.signal };
    setTimeout(() => controller.abort(), 50);
    const t0 = performance.now();
    await expect(decodeStream(new BufferSource(Uint8Array.from([1, 2, 3])), stalled, b)).rejects.toSatisfy((e) =>
      isModelgateError(e, "ABORTED"),
    );
    expect(performance.now() - t0).toBeLessThan(5_000);
  });

  it("names the decompressed member after the file", () => {
    expect(decompressedName("model.pkl.gz")).toBe("model.pkl");
    expect(decompressedName("weights.tgz")).toBe("weights.tar");
    expect(decompressedName("a.tar.zst")).toBe("a.tar");
    expect(decompressedName("blob")).toBe("blob");
  });
});

describe("xz", () => {
  const sample = (name: string) =>
    new BufferSource(readFileSync(new URL(`../../samples/containers/compressed/${name}`, import.meta.url)));

  it("decodes single and concatenated streams", async () => {
    const one = await decompress("xz", sample("text.txt.xz"), budget());
    const two = await decompress("xz", sample("multi-stream.txt.xz"), budget());
    expect(two.source.size).toBe(2 * one.source.size);
    expect(text(await one.source.read(0, 11))).toBe("plain text ");
  });

  it("reports corrupt data as MALFORMED", async () => {
    await expect(decompress("xz", sample("corrupt.txt.xz"), budget())).rejects.toSatisfy((e) =>
      isModelgateError(e, "MALFORMED"),
    );
  });

  it("stops an xz bomb at the ratio budget", async () => {
    await expect(decompress("xz", sample("bomb.bin.xz"), budget())).rejects.toSatisfy(
      (e) => isModelgateError(e, "BUDGET_EXCEEDED") && e.budget === "maxCompressionRatio",
    );
  });
});

describe("bzip2 (in-house decoder)", () => {
  const sample = (name: string) =>
    new BufferSource(readFileSync(new URL(`../../samples/containers/compressed/${name}`, import.meta.url)));

  it("decodes Python-made single and concatenated streams", async () => {
    const one = await decompress("bz2", sample("text.txt.bz2"), budget());
    const two = await decompress("bz2", sample("multi-stream.txt.bz2"), budget());
    expect(one.source.size).toBe(1900);
    expect(two.source.size).toBe(3800);
    expect(text(await one.source.read(0, 11))).toBe("plain text ");
    expect(text(await two.source.read(1900, 11))).toBe("plain text ");
  });

  it("matches the gzip copy of the same content byte for byte", async () => {
    const bz = await decompress("bz2", sample("text.txt.bz2"), budget());
    const gz = await decompress("gzip", sample("text.txt.gz"), budget());
    expect(Buffer.from(await bz.source.read(0, 4000)).equals(Buffer.from(await gz.source.read(0, 4000)))).toBe(true);
  });

  it("rejects a block whose CRC does not match", async () => {
    await expect(decompress("bz2", sample("corrupt.txt.bz2"), budget())).rejects.toSatisfy((e) =>
      isModelgateError(e, "MALFORMED"),
    );
  });

  it("rejects truncated streams and reports trailing bytes", async () => {
    const bytes = readFileSync(new URL("../../samples/containers/compressed/text.txt.bz2", import.meta.url));
    await expect(decompress("bz2", new BufferSource(bytes.subarray(0, 60)), budget())).rejects.toSatisfy((e) =>
      isModelgateError(e, "MALFORMED"),
    );
    const r = await decompress("bz2", new BufferSource(Buffer.concat([bytes, Buffer.from("junk")])), budget());
    expect(r.trailing).toEqual({ offset: bytes.length, length: 4 });
  });

  it("decodes many blocks and streams whose output outruns the input: the same bytes as gzip", async () => {
    // 1.5 MB of text as 100 kB blocks then 900 kB blocks (two streams), and the same bytes as gzip
    // and as LZMA-alone (samples/generate/containers.py). The decoders are paced by their reader,
    // so this goes through every pause and resume; a missed resume hangs (the test's timeout).
    const gz = await decompress("gzip", sample("blocks.txt.gz"), budget());
    const want = Buffer.from(await gz.source.read(0, gz.source.size));
    expect(want.length).toBeGreaterThan(3_000_000);
    for (const [kind, name] of [
      ["bz2", "blocks.txt.bz2"],
      ["lzma", "blocks.txt.lzma"],
    ] as const) {
      const got = await decompress(kind, sample(name), budget());
      expect(got.source.size).toBe(want.length);
      expect(Buffer.from(await got.source.read(0, got.source.size)).equals(want)).toBe(true);
      await got.source.close?.();
    }
    await gz.source.close?.();
  }, 60_000);

  it("stops a 1.5 KB bzip2 bomb of 2 GiB with little memory", async () => {
    // Decoding all the blocks a write held before the budget saw them took 4 GB of memory here.
    let peak = 0;
    const sampleMemory = () => {
      peak = Math.max(peak, process.memoryUsage().arrayBuffers);
    };
    const timer = setInterval(sampleMemory, 2);
    const b = budget();
    const metered = {
      maxRatio: b.maxRatio,
      charge(n: number) {
        sampleMemory();
        b.charge(n);
      },
    };
    try {
      await expect(decompress("bz2", sample("bomb-2g.bin.bz2"), metered)).rejects.toSatisfy(
        (e) => isModelgateError(e, "BUDGET_EXCEEDED") && e.budget === "maxCompressionRatio",
      );
    } finally {
      clearInterval(timer);
    }
    expect(b.used).toBeLessThan(64 << 20);
    expect(peak).toBeLessThan(512 << 20);
  }, 60_000);

  it("stops a bzip2 bomb at the ratio budget", async () => {
    await expect(decompress("bz2", sample("bomb.bin.bz2"), budget())).rejects.toSatisfy(
      (e) => isModelgateError(e, "BUDGET_EXCEEDED") && e.budget === "maxCompressionRatio",
    );
  });
});

describe("LZMA-alone (in-house decoder)", () => {
  const bytesOf = (name: string) =>
    readFileSync(new URL(`../../samples/containers/compressed/${name}`, import.meta.url));

  it("decodes a Python-made stream (unknown size, end marker) to the same bytes as gzip", async () => {
    const lz = await decompress("lzma", new BufferSource(bytesOf("text.txt.lzma")), budget());
    const gz = await decompress("gzip", new BufferSource(bytesOf("text.txt.gz")), budget());
    expect(lz.source.size).toBe(gz.source.size);
    expect(Buffer.from(await lz.source.read(0, 4000)).equals(Buffer.from(await gz.source.read(0, 4000)))).toBe(true);
  });

  it("decodes a stream with a declared size", async () => {
    const bytes = Buffer.from(bytesOf("text.txt.lzma"));
    bytes.writeBigUInt64LE(1900n, 5);
    const r = await decompress("lzma", new BufferSource(bytes), budget());
    expect(r.source.size).toBe(1900);
  });

  it("rejects corrupt and truncated streams", async () => {
    await expect(decompress("lzma", new BufferSource(bytesOf("corrupt.txt.lzma")), budget())).rejects.toSatisfy((e) =>
      isModelgateError(e, "MALFORMED"),
    );
    const cut = bytesOf("text.txt.lzma").subarray(0, 40);
    await expect(decompress("lzma", new BufferSource(cut), budget())).rejects.toSatisfy((e) =>
      isModelgateError(e, "MALFORMED"),
    );
  });

  it("refuses a dictionary over the limit with an unknown size", async () => {
    const bytes = Buffer.from(bytesOf("text.txt.lzma"));
    bytes.writeUInt32LE(0xffffffff, 1);
    await expect(decompress("lzma", new BufferSource(bytes), budget())).rejects.toSatisfy((e) =>
      isModelgateError(e, "BUDGET_EXCEEDED"),
    );
  });

  it("stops an lzma bomb at the ratio budget", async () => {
    await expect(decompress("lzma", new BufferSource(bytesOf("bomb.bin.lzma")), budget())).rejects.toSatisfy(
      (e) => isModelgateError(e, "BUDGET_EXCEEDED") && e.budget === "maxCompressionRatio",
    );
  });
});
