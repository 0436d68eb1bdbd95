/**
 * The 7z reader: real archives made by 7-Zip (samples/sevenzip), each coder, solid folders,
 * encryption, the LZMA2 chunk grammar, hostile headers (huge counts and sizes, truncation at every
 * offset, random mutations): always a result or a typed ModelgateError, never a crash.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { crc32, deflateRawSync } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Lzma2Decoder, lzma2DictionarySize, RawLzmaDecoder } from "../../src/containers/compressed/lzma.js";
import { openFolderStream } from "../../src/containers/sevenzip/coders.js";
import { armFilter, deltaFilter, x86Filter } from "../../src/containers/sevenzip/filters.js";
import { HeaderReader } from "../../src/containers/sevenzip/header.js";
import { readSevenZip, type SevenZipArchive } from "../../src/containers/sevenzip/reader.js";
import { isModelgateError, ModelgateError } from "../../src/core/errors.js";
import { BufferSource } from "../../src/sources/byte-source.js";
import { ruleIds, SAMPLES, scanOne } from "../helpers/scan.js";
import { buildSevenZip, fixSevenZipCrcs, num, SYMLINK_ATTRIBUTES, wrapSevenZip } from "./sevenzip-builder.js";

const SEED = Number(process.env.MODELGATE_FUZZ_SEED ?? 20261207);
const SCALE = Math.max(1, Number(process.env.MODELGATE_FUZZ_SCALE ?? 1));
const sample = (name: string) => new Uint8Array(readFileSync(join(SAMPLES, "sevenzip", name)));
const enc = new TextEncoder();
const text = (b: Uint8Array) => Buffer.from(b).toString();

/** Decodes every decodable folder; returns each file's bytes by name and the CRC verdicts. */
async function extract(bytes: Uint8Array, archive?: SevenZipArchive) {
  const source = new BufferSource(bytes);
  const a = archive ?? (await readSevenZip(source));
  const files = new Map<string, Uint8Array>();
  let crcOk = 0;
  for (const folder of a.folders) {
    if (folder.encrypted || folder.unsupported !== undefined) continue;
    const stream = openFolderStream(source, a.streams!, folder.index, a.packBase);
    const chunks: Uint8Array[] = [];
    for (;;) {
      const c = await stream.next();
      if (c === null) break;
      chunks.push(c);
    }
    const out = Buffer.concat(chunks);
    expect(out.length).toBe(folder.unpackSize);
    for (const p of folder.parts) {
      const part = a.parts[p]!;
      const data = out.subarray(part.offset, part.offset + part.size);
      if (part.crc !== undefined) {
        expect(crc32(data), `CRC of part ${p}`).toBe(part.crc);
        crcOk++;
      }
      files.set(a.entries[part.entry]?.name ?? `#${p}`, new Uint8Array(data));
    }
  }
  return { archive: a, files, crcOk };
}

/** Resolves to "ok" or the typed error's code; anything else fails the test. */
async function outcome(bytes: Uint8Array, decode = true): Promise<string> {
  try {
    const source = new BufferSource(bytes);
    const a = await readSevenZip(source, { maxEntries: 1000, maxHeaderBytes: 1 << 20, maxDictionary: 1 << 24 });
    if (decode) {
      for (const folder of a.folders) {
        if (folder.encrypted || folder.unsupported !== undefined || folder.unpackSize > 1 << 24) continue;
        try {
          const stream = openFolderStream(source, a.streams!, folder.index, a.packBase, { maxDictionary: 1 << 24 });
          let n = 0;
          for (;;) {
            const c = await stream.next();
            if (c === null) break;
            n += c.length;
            if (n > 1 << 24) break;
          }
          stream.close();
        } catch (error) {
          if (!(error instanceof ModelgateError)) throw error;
        }
      }
    }
    return "ok";
  } catch (error) {
    if (error instanceof ModelgateError) return error.code;
    throw error;
  }
}

describe("7z: real archives", () => {
  it.each([
    ["clean_lzma.7z", ["LZMA"]],
    ["clean_lzma2.7z", ["LZMA2"]],
    ["clean_solid.7z", ["LZMA2"]],
    ["clean_copy_plain_header.7z", ["Copy"]],
    ["clean_deflate.7z", ["Deflate"]],
    ["clean_bzip2.7z", ["BZip2"]],
    ["clean_delta.7z", ["LZMA2", "Delta"]],
    ["clean_bcj.7z", ["LZMA2", "BCJ"]],
    ["clean_arm.7z", ["LZMA2", "ARM"]],
    ["clean_armt.7z", ["LZMA2", "ARMT"]],
    ["clean_ppc.7z", ["LZMA2", "PPC"]],
    ["clean_sparc.7z", ["LZMA2", "SPARC"]],
    ["malicious_bcj_delta_chain.7z", ["LZMA", "BCJ", "Delta"]],
  ])("%s decodes with %j and every CRC matches", async (name, methods) => {
    const { archive, files, crcOk } = await extract(sample(name));
    expect(archive.findings).toEqual([]);
    expect(new Set(archive.folders.flatMap((f) => f.methods))).toEqual(new Set(methods));
    expect(crcOk).toBe(archive.entries.filter((e) => e.size > 0).length);
    expect(crcOk).toBeGreaterThan(0);
    expect(files.size).toBeGreaterThan(0);
  });

  it("reads a solid folder as one stream with the files in order", async () => {
    const { archive, files } = await extract(sample("clean_solid.7z"));
    expect(archive.folders).toHaveLength(1);
    expect(archive.folders[0]!.parts).toHaveLength(3);
    expect(archive.entries.map((e) => e.name).sort()).toEqual(["README.md", "config.json", "vocab.txt"]);
    expect(JSON.parse(text(files.get("config.json")!)).model_type).toBe("tiny");
    expect(archive.headerEncoded).toBe(true);
  });

  it("reads a plain header and one folder per file when not solid", async () => {
    const { archive } = await extract(sample("clean_copy_plain_header.7z"));
    expect(archive.headerEncoded).toBe(false);
    expect(archive.folders).toHaveLength(3);
  });

  it("lists empty files and directories without data", async () => {
    const { archive } = await extract(sample("clean_empty_entries.7z"));
    const byName = new Map(archive.entries.map((e) => [e.name, e]));
    expect(byName.get("emptydir")?.isDir).toBe(true);
    expect(byName.get("empty.txt")).toMatchObject({ isDir: false, size: 0, part: -1 });
    expect(byName.get("data/config.json")?.size).toBeGreaterThan(0);
  });

  it("reports encrypted content with the member names, and an encrypted header", async () => {
    const content = await readSevenZip(new BufferSource(sample("encrypted_content.7z")));
    expect(content.folders[0]).toMatchObject({ encrypted: true });
    expect(content.folders[0]!.methods).toContain("7zAES");
    expect(content.entries.map((e) => e.name)).toContain("config.json");
    const header = await readSevenZip(new BufferSource(sample("encrypted_header.7z")));
    expect(header).toMatchObject({ headerEncrypted: true, entries: [], unreferenced: [] });
    expect(header.headerMethods).toContain("7zAES");
  });

  it("flags an unsupported coder without failing the listing", async () => {
    const a = await readSevenZip(new BufferSource(sample("unsupported_ppmd.7z")));
    expect(a.folders[0]!.unsupported).toBe("PPMD");
  });

  it("throws TRUNCATED for a truncated archive", async () => {
    await expect(readSevenZip(new BufferSource(sample("truncated.7z")))).rejects.toSatisfy((e) =>
      isModelgateError(e, "TRUNCATED"),
    );
  });

  it("finds the flipped byte of crc_corrupt.7z", async () => {
    await expect(extract(sample("crc_corrupt.7z"))).rejects.toThrow(/CRC of part/);
  });
});

/** Packed data and a plain header of `n` one-byte Copy folders and no FilesInfo. */
function streamsWithoutFiles(n: number): [Uint8Array, Uint8Array] {
  const h = [0x01, 0x04, 0x06, 0, ...num(n), 0x09, ...new Array<number>(n).fill(1), 0];
  h.push(0x07, 0x0b, ...num(n), 0);
  for (let i = 0; i < n; i++) h.push(0x01, 0x01, 0x00);
  h.push(0x0c, ...new Array<number>(n).fill(1), 0, 0, 0);
  return [new Uint8Array(n).fill(0x41), Uint8Array.from(h)];
}

describe("7z analyzer (engine)", () => {
  it("names the pickle of the nullifAI layout under any name", async () => {
    for (const name of ["model.bin", "model.pt", "weights.7z"]) {
      const file = await scanOne(sample("nullifai/model.bin"), name);
      expect(file.verdict).toBe("malicious");
      expect(file.findings.some((f) => f.evidence?.callee === "posix.system")).toBe(true);
      expect(file.members?.map((m) => m.path)).toContain(`${name}!data.pkl`);
    }
  });

  it("reports path traversal, links and duplicate names from the header", async () => {
    const bytes = buildSevenZip([
      { name: "../evil.pkl", data: "x" },
      { name: "link", data: "/etc/passwd", attributes: SYMLINK_ATTRIBUTES },
      { name: "a.txt", data: "one" },
      { name: "a.txt", data: "two" },
    ]);
    const file = await scanOne(bytes, "x.7z");
    expect(ruleIds(file)).toEqual(
      expect.arrayContaining(["container/path-traversal", "container/link-member", "7z/duplicate-name"]),
    );
    expect(file.members?.map((m) => m.path)).toEqual(
      expect.arrayContaining(["x.7z!a.txt", "x.7z!a.txt#3", "x.7z!../evil.pkl"]),
    );
  });

  it("reports a member CRC mismatch as invalid and still analyses the member", async () => {
    const bytes = buildSevenZip([{ name: "a.txt", data: "hello" }], { badCrc: 0 });
    const file = await scanOne(bytes, "x.7z");
    expect(file.verdict).toBe("invalid");
    expect(ruleIds(file)).toContain("7z/crc-mismatch");
    expect(file.members).toHaveLength(1);
  });

  it("reports a header CRC mismatch", async () => {
    const bytes = buildSevenZip([{ name: "a.txt", data: "hello" }]);
    bytes[28] = (bytes[28] as number) ^ 0xff;
    bytes[8] = (bytes[8] as number) ^ 0xff;
    const a = await readSevenZip(new BufferSource(bytes));
    expect(a.findings.filter((f) => f.ruleId === "7z/crc-mismatch")).toHaveLength(2);
  });

  it("caps the entries at maxEntries", async () => {
    const members = Array.from({ length: 30 }, (_, i) => ({ name: `f${i}.txt`, data: `file ${i}` }));
    const file = await scanOne(buildSevenZip(members, { solid: true }), "x.7z", { limits: { maxEntries: 10 } });
    expect(ruleIds(file)).toContain("container/too-many-entries");
    expect(file.verdict).toBe("invalid");
    expect(file.members).toHaveLength(10);
    // Streams without files count against the budget too.
    const unnamed = wrapSevenZip(...streamsWithoutFiles(30));
    const report = await scanOne(unnamed, "y.7z", { limits: { maxEntries: 10 } });
    expect(ruleIds(report)).toEqual(expect.arrayContaining(["container/too-many-entries", "7z/header-anomaly"]));
    expect(report.members).toHaveLength(10);
  });

  it("stops a solid folder at the decompressed-bytes budget", async () => {
    const file = await scanOne(sample("clean_solid.7z"), "x.7z", { limits: { maxDecompressedBytes: 1000 } });
    expect(ruleIds(file)).toContain("container/decompression-bomb");
    expect(file.verdict).toBe("malicious");
  });

  it("scans data after the archive and streams no file claims", async () => {
    const bytes = buildSevenZip([{ name: "a.txt", data: "hello" }], { trailing: enc.encode("hidden bytes") });
    const file = await scanOne(bytes, "x.7z");
    expect(ruleIds(file)).toContain("7z/unreferenced-data");
    expect(file.members?.map((m) => m.path)).toContain(`x.7z!<unreferenced@${bytes.length - 12}>`);
  });

  it("reads an empty archive (no header) as clean", async () => {
    const bytes = wrapSevenZip(new Uint8Array(0), new Uint8Array(0));
    const file = await scanOne(bytes, "empty.7z");
    expect(file.verdict).toBe("clean");
  });
});

describe("7z: decoder output", () => {
  it("is pulled in pieces of at most 64 KiB, however much one BZip2 block expands to", async () => {
    // 64 MiB of zeros compressed by Python's bz2 (the compressed bomb sample) as a BZip2 folder:
    // a block of runs decodes to about 45 MiB at once, which the stream's async iterator joined
    // into one buffer per pull (and the coder copied again).
    const packed = new Uint8Array(readFileSync(join(SAMPLES, "containers", "compressed", "bomb.bin.bz2")));
    const size = 64 << 20;
    const bytes = buildSevenZip([{ name: "zeros.bin", data: packed }], { coder: { id: [4, 2, 2], unpackSize: size } });
    const source = new BufferSource(bytes);
    const a = await readSevenZip(source);
    const stream = openFolderStream(source, a.streams!, 0, a.packBase);
    let total = 0;
    let largest = 0;
    let nonZero = 0;
    for (;;) {
      const c = await stream.next();
      if (c === null) break;
      total += c.length;
      largest = Math.max(largest, c.length);
      if (c[0] !== 0 || c[c.length - 1] !== 0) nonZero++;
    }
    stream.close();
    expect(total).toBe(size);
    expect(nonZero).toBe(0);
    expect(largest).toBeLessThanOrEqual(64 * 1024);
  }, 60_000);
});

describe("7z: packed data after a Deflate or BZip2 stream", () => {
  // As for LZMA (its coder checks the same): bytes a 7z tool would ignore are a hiding place.
  const text = Buffer.from("hello world ".repeat(1000));
  const deflate = new Uint8Array(deflateRawSync(text));
  const bzip2 = new Uint8Array(readFileSync(join(SAMPLES, "containers", "compressed", "bomb.bin.bz2")));
  /** Decodes the folder of `packed` + `extra` bytes: its output size, or the error, and the packed bytes read. */
  const decode = async (packed: Uint8Array, extra: number, id: readonly number[], size: number) => {
    const data = Buffer.concat([packed, Buffer.alloc(extra, 0x41)]);
    const bytes = buildSevenZip([{ name: "f.bin", data }], { coder: { id: [...id], unpackSize: size } });
    const source = new BufferSource(bytes);
    const a = await readSevenZip(source);
    const stream = openFolderStream(source, a.streams!, 0, a.packBase);
    let n = 0;
    try {
      for (;;) {
        const c = await stream.next();
        if (c === null) return { out: n, packRead: stream.packRead };
        n += c.length;
      }
    } catch (error) {
      return { error, packRead: stream.packRead };
    } finally {
      stream.close();
    }
  };
  it.each([
    ["Deflate", deflate, [4, 1, 8], text.length],
    ["BZip2", bzip2, [4, 2, 2], 64 << 20],
  ] as const)(
    "%s: the exact stream decodes, one byte more is MALFORMED",
    async (name, packed, id, size) => {
      expect(await decode(packed, 0, id, size)).toEqual({ out: size, packRead: packed.length });
      for (const extra of [1, 4096]) {
        const { error } = await decode(packed, extra, id, size);
        expect(error).toBeInstanceOf(ModelgateError);
        expect((error as ModelgateError).code).toBe("MALFORMED");
        expect((error as ModelgateError).message).toMatch(
          new RegExp(`^7z ${name}: ${extra}\\+? bytes of packed data after the end of the coded data$`),
        );
      }
    },
    60_000,
  );

  it("stops reading a long run of packed bytes after a Deflate stream at the first of them", async () => {
    const { error, packRead } = await decode(deflate, 16 << 20, [4, 1, 8], text.length);
    expect((error as ModelgateError).code).toBe("MALFORMED");
    expect((error as ModelgateError).message).toMatch(/^7z Deflate: \d+\+ bytes of packed data after the end/);
    expect(packRead).toBeLessThan(2 << 20);
  });
});

describe("7z: hostile headers", () => {
  const header = (...parts: (number | number[])[]) => Uint8Array.from(parts.flat());

  it("decodes numbers of every length and rejects those over 2^53", () => {
    for (const v of [0, 0x7f, 0x80, 0x3fff, 0x4000, 2 ** 32 + 5, 2 ** 48 + 1, 2 ** 53 - 1]) {
      expect(new HeaderReader(Uint8Array.from(num(v))).number()).toBe(v);
    }
    expect(() => new HeaderReader(Uint8Array.from(num(2n ** 60n))).number()).toThrow(ModelgateError);
  });

  it.each([
    ["2^40 packed streams", header(0x01, 0x04, 0x06, 0, num(2 ** 40), 0x09, 1, 0, 0)],
    ["2^40 folders", header(0x01, 0x04, 0x07, 0x0b, num(2 ** 40), 0, 0)],
    ["2^50 files", header(0x01, 0x05, num(2 ** 50), 0, 0)],
    ["2^60 coders", header(0x01, 0x04, 0x07, 0x0b, 1, 0, num(2n ** 60n), 0)],
    ["a property of 2^40 bytes", header(0x01, 0x05, 1, 0x11, num(2 ** 40), 0, 0)],
    [
      "2^30 files in a folder",
      header(
        0x01,
        0x04,
        0x06,
        0,
        1,
        0x09,
        1,
        0,
        0x07,
        0x0b,
        1,
        0,
        1,
        1,
        0,
        0x0c,
        1,
        0,
        0x08,
        0x0d,
        num(2 ** 30),
        0x09,
        0,
        0,
      ),
    ],
    ["an unterminated name", header(0x01, 0x05, 1, 0x11, 3, 0, 0x41, 0)],
    ["an unknown top-level id", header(0x01, 0x42)],
    ["a bind pair out of range", header(0x01, 0x04, 0x07, 0x0b, 1, 0, 2, 0x01, 0x00, 0x01, 0x00, 9, 9, 0)],
  ])("rejects %s with MALFORMED", async (_what, h) => {
    const bytes = wrapSevenZip(new Uint8Array(0), h);
    await expect(readSevenZip(new BufferSource(bytes))).rejects.toSatisfy((e) => isModelgateError(e, "MALFORMED"));
  });

  it("rejects a header size past the end, and one over the cap, without reading it", async () => {
    const bytes = Buffer.from(buildSevenZip([{ name: "a", data: "b" }]));
    const huge = Buffer.from(bytes);
    huge.writeBigUInt64LE(2n ** 40n, 20);
    await expect(readSevenZip(new BufferSource(fixSevenZipCrcs(huge)))).rejects.toSatisfy((e) =>
      isModelgateError(e, "TRUNCATED"),
    );
    const over = Buffer.from(bytes);
    over.writeBigUInt64LE(2n ** 60n, 12);
    await expect(readSevenZip(new BufferSource(over))).rejects.toSatisfy((e) => isModelgateError(e, "MALFORMED"));
    await expect(readSevenZip(new BufferSource(bytes), { maxHeaderBytes: 8 })).rejects.toSatisfy(
      (e) => isModelgateError(e, "BUDGET_EXCEEDED") && e.budget === "maxSevenZipHeaderBytes",
    );
  });

  it("caps a packed header that declares gigabytes", async () => {
    // kEncodedHeader: one Copy folder of 1 packed byte declaring 2^40 bytes of header.
    const h = header(0x17, 0x06, 0, 1, 0x09, 1, 0, 0x07, 0x0b, 1, 0, 1, 0x01, 0x00, 0x0c, num(2 ** 40), 0, 0);
    const bytes = wrapSevenZip(Uint8Array.of(0x01), h);
    await expect(readSevenZip(new BufferSource(bytes))).rejects.toSatisfy(
      (e) => isModelgateError(e, "BUDGET_EXCEEDED") && e.budget === "maxSevenZipHeaderBytes",
    );
  });

  it("never crashes on any truncation of real archives", async () => {
    for (const name of ["clean_solid.7z", "clean_bcj.7z", "clean_copy_plain_header.7z", "encrypted_header.7z"]) {
      const bytes = sample(name);
      for (let cut = 0; cut < bytes.length; cut++) {
        const code = await outcome(bytes.subarray(0, cut));
        expect(["ok", "TRUNCATED", "MALFORMED"], `${name} cut at ${cut}`).toContain(code);
      }
    }
  });

  it("never crashes on a truncated or corrupt packed stream once the header is intact", async () => {
    const bytes = sample("clean_lzma.7z");
    const a = await readSevenZip(new BufferSource(bytes));
    const folder = a.folders[0]!;
    for (let i = 0; i < folder.packSize; i += 7) {
      const mutated = new Uint8Array(bytes);
      mutated[folder.packOffset + i] = (mutated[folder.packOffset + i] as number) ^ 0x5a;
      try {
        await extract(mutated, a);
      } catch (error) {
        // a CRC failure of extract() or a typed decoding error
        expect(error instanceof ModelgateError || String(error).includes("CRC")).toBe(true);
      }
    }
  });

  it("mutations end in a result or a typed error (fast-check)", async () => {
    const seeds: Uint8Array[] = [
      "clean_solid.7z",
      "clean_bcj.7z",
      "clean_copy_plain_header.7z",
      "clean_delta.7z",
      "clean_lzma.7z",
    ].map(sample);
    seeds.push(buildSevenZip([{ name: "a", data: "abc" }, { name: "d" }, { name: "e", data: "" }], { solid: true }));
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: seeds.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 2 })), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.boolean(),
        async (which, edits, fix) => {
          let bytes = Buffer.from(seeds[which]!);
          for (const [at, value, kind] of edits) {
            const i = at % Math.max(1, bytes.length);
            if (kind === 0) bytes[i] = value;
            else if (kind === 1) bytes = Buffer.concat([bytes.subarray(0, i), Buffer.of(value), bytes.subarray(i)]);
            else bytes = Buffer.concat([bytes.subarray(0, i), bytes.subarray(i + 1)]);
          }
          const input = fix ? fixSevenZipCrcs(bytes) : new Uint8Array(bytes);
          const code = await outcome(input);
          expect(["ok", "TRUNCATED", "MALFORMED", "UNSUPPORTED", "BUDGET_EXCEEDED"]).toContain(code);
        },
      ),
      { seed: SEED, numRuns: 300 * SCALE },
    );
  }, 120_000);

  it("scan() turns hostile archives into findings, never a crash", async () => {
    const base = sample("clean_solid.7z");
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.integer({ min: 0, max: 255 }), async (at, value) => {
        const bytes = new Uint8Array(base);
        bytes[at % bytes.length] = value;
        const file = await scanOne(fixSevenZipCrcs(bytes), "m.7z");
        expect(ruleIds(file)).not.toContain("scan/internal-error");
      }),
      { seed: SEED, numRuns: 60 * SCALE },
    );
  }, 120_000);
});

describe("LZMA2 chunks", () => {
  /** The LZMA2 stream of a real archive (one LZMA chunk, then the end byte). */
  async function realChunk() {
    const bytes = sample("clean_lzma2.7z");
    const a = await readSevenZip(new BufferSource(bytes));
    const f = a.folders[0]!;
    const stream = bytes.subarray(f.packOffset, f.packOffset + f.packSize);
    const prop = a.streams!.folders[0]!.coders[0]!.props[0]!;
    const dict = lzma2DictionarySize(prop);
    return { stream, prop, dict, size: f.unpackSize, expected: (await extract(bytes)).files.get("config.json")! };
  }

  function decodeAll(decoder: Lzma2Decoder | RawLzmaDecoder, input: Uint8Array, step = 7, pull = 100) {
    const out: Uint8Array[] = [];
    let at = 0;
    for (let guard = 0; guard < 1e6 && !decoder.done; guard++) {
      if (decoder.needsInput) {
        if (at >= input.length) decoder.end();
        else {
          decoder.push(input.subarray(at, at + step));
          at += step;
        }
        continue;
      }
      out.push(decoder.pull(pull));
    }
    return Buffer.concat(out);
  }

  it("decodes LZMA chunks, stored chunks and dictionary resets, fed and pulled in small pieces", async () => {
    const { stream, dict, expected } = await realChunk();
    expect(stream[0]).toBe(0xe0);
    const lzmaChunk = stream.subarray(0, stream.length - 1); // without the end byte
    const stored = enc.encode("stored bytes");
    const composed = Buffer.concat([
      lzmaChunk,
      Buffer.of(0x02, 0, stored.length - 1),
      stored,
      lzmaChunk, // 0xe0 again: dictionary reset + new properties
      Buffer.of(0x01, 0, 2),
      Buffer.from("abc"),
      Buffer.of(0x00),
    ]);
    const want = Buffer.concat([expected, stored, expected, Buffer.from("abc")]);
    for (const [step, pull] of [
      [1, 1],
      [7, 100],
      [4096, 1 << 20],
    ] as const) {
      const out = decodeAll(new Lzma2Decoder(dict, want.length), composed, step, pull);
      expect(out.equals(want)).toBe(true);
    }
  });

  it("reports packed bytes hidden after the end of the coded data", async () => {
    const { stream, prop, size, expected } = await realChunk();
    const archive = (packed: Uint8Array) => {
      const h = [0x01, 0x04, 0x06, 0, 1, 0x09, ...num(packed.length), 0, 0x07, 0x0b, 1, 0, 1, 0x21, 0x21, 1, prop];
      h.push(0x0c, ...num(size), 0, 0, 0x05, 1, 0x11, 7, 0, 0x61, 0, 0x62, 0, 0, 0, 0, 0);
      return wrapSevenZip(packed, Uint8Array.from(h));
    };
    const good = await extract(archive(stream));
    expect(Buffer.from(good.files.get("ab")!).equals(expected)).toBe(true);
    const hidden = Buffer.concat([stream, Buffer.from("hidden payload")]);
    const file = await scanOne(archive(hidden), "x.7z");
    expect(ruleIds(file)).toContain("container/malformed-stream");
    expect(file.findings.find((f) => f.ruleId === "container/malformed-stream")?.message).toMatch(/after the end/);
  });

  it("rejects chunk sequences the grammar forbids", async () => {
    const { stream, dict } = await realChunk();
    const bad = (bytes: number[] | Uint8Array) => () =>
      decodeAll(new Lzma2Decoder(dict, 1 << 20), Uint8Array.from(bytes as number[]));
    expect(bad([0x02, 0, 0, 0x41, 0x00])).toThrow(/reset the dictionary/); // first chunk keeps the dictionary
    expect(bad([0x03, 0, 0, 0x41, 0x00])).toThrow(/control byte/);
    const noProps = Buffer.from(stream);
    noProps[0] = 0xa0; // state reset without properties, after a stored dictionary reset
    expect(bad(Buffer.concat([Buffer.of(0x01, 0, 0, 0x41), noProps]))).toThrow(/new properties/);
    expect(bad(stream.subarray(0, stream.length - 3))).toThrow(/truncated/);
    expect(() => lzma2DictionarySize(41)).toThrow(ModelgateError);
  });

  it("refuses a dictionary over the limit only when the output could need it", () => {
    expect(() => new Lzma2Decoder(0xffffffff, -1)).toThrow(ModelgateError);
    expect(() => new Lzma2Decoder(0xffffffff, 1000)).not.toThrow();
    expect(
      () => new RawLzmaDecoder({ lc: 3, lp: 0, pb: 2, dictSize: 0xffffffff }, 1 << 30, { maxDictionary: 1 << 20 }),
    ).toThrow(ModelgateError);
  });

  it("pulls a bounded amount at a time (a bomb cannot run ahead of the budget)", async () => {
    const bytes = sample("bomb.7z");
    const a = await readSevenZip(new BufferSource(bytes));
    const f = a.folders[0]!;
    const stream = bytes.subarray(f.packOffset, f.packOffset + f.packSize);
    const dict = lzma2DictionarySize(a.streams!.folders[0]!.coders[0]!.props[0]!);
    const d = new Lzma2Decoder(dict, f.unpackSize);
    d.push(stream);
    d.end();
    let max = 0;
    let total = 0;
    while (!d.done && total < 8 << 20) {
      const out = d.pull(64 * 1024);
      max = Math.max(max, out.length);
      total += out.length;
    }
    expect(max).toBeLessThanOrEqual(64 * 1024 + 273);
    expect(total).toBeGreaterThanOrEqual(8 << 20);
  });
});

describe("7z filters", () => {
  it("give the same output whatever the chunking", () => {
    const rng = fc.sample(fc.uint8Array({ minLength: 5000, maxLength: 5000 }), { seed: SEED, numRuns: 1 })[0]!;
    // Plenty of E8/E9 with 00/FF operands, and ARM BL words.
    for (let i = 0; i + 5 < rng.length; i += 11) {
      rng[i] = 0xe8;
      rng[i + 4] = i % 2 ? 0 : 0xff;
    }
    for (let i = 3; i < rng.length; i += 16) rng[i] = 0xeb;
    for (const make of [x86Filter, armFilter, () => deltaFilter(3)]) {
      const whole = Buffer.from(make().process(rng, true));
      for (const step of [1, 3, 5, 64, 1000]) {
        const f = make();
        const parts: Uint8Array[] = [];
        for (let at = 0; at < rng.length; at += step) parts.push(f.process(rng.subarray(at, at + step), false));
        parts.push(f.process(new Uint8Array(0), true));
        expect(Buffer.concat(parts).equals(whole), `${make.name} step ${step}`).toBe(true);
      }
    }
  });
});
