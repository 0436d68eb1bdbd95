/**
 * Property tests: mutated and random zips, tars and gzip streams always end in a result or a
 * typed ModelgateError, quickly, never a crash, hang or unbounded allocation.
 */
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decompress } from "../../src/containers/compressed/streams.js";
import { readTar } from "../../src/containers/tar/reader.js";
import { openZipEntry, verifyZipEntry } from "../../src/containers/zip/member.js";
import { checkLocalHeaders, readZipDirectory } from "../../src/containers/zip/reader.js";
import { isModelgateError } from "../../src/core/errors.js";
import { BufferSource, readClamped } from "../../src/sources/byte-source.js";
import { scanOne } from "../helpers/scan.js";
import { buildTar } from "./tar-builder.js";
import { buildZip } from "./zip-builder.js";

const SEED = Number(process.env.MODELGATE_FUZZ_SEED ?? 20261122);
/**
 * Longer runs (not in `npm test`): `MODELGATE_FUZZ_SCALE=30 MODELGATE_FUZZ_SEED=7 npx vitest run
 * test/containers/fuzz --testTimeout=0` runs 30× more cases from another seed.
 */
const SCALE = Math.max(1, Number(process.env.MODELGATE_FUZZ_SCALE ?? 1));
const runs = (n: number) => n * SCALE;
const budget = () => {
  let used = 0;
  return {
    maxRatio: 1000,
    charge(n: number) {
      used += n;
      if (used > 64 * 1024 * 1024) throw new Error("test budget: decoded too much");
    },
  };
};

const ZIP = buildZip(
  [
    { name: "archive/data.pkl", data: "abc".repeat(50), method: 8 },
    { name: "archive/data/0", data: new Uint8Array(300) },
    { name: "z64", data: "zip64", zip64: true },
  ],
  { comment: "c" },
);
const ZIP64_END = buildZip([{ name: "a", data: "x", method: 8 }], { zip64End: true });
const TAR = buildTar([
  { name: "a.txt", data: "hello" },
  { name: "l", type: "2", linkName: "x" },
  { name: "b.bin", data: new Uint8Array(700) },
]);

/** Byte-level mutations: flips, overwrites with interesting values, truncation, splicing. */
const mutated = (base: Uint8Array) =>
  fc
    .record({
      edits: fc.array(
        fc.record({
          at: fc.nat(base.length - 1),
          value: fc.constantFrom(0, 0xff, 0x7f, 0x80, 0x50, 0x4b, 1, 2, 5, 6, 0x30, 0x20),
          span: fc.integer({ min: 1, max: 8 }),
        }),
        { maxLength: 6 },
      ),
      cut: fc.option(fc.nat(base.length), { nil: undefined }),
    })
    .map(({ edits, cut }) => {
      const out = new Uint8Array(base);
      for (const e of edits) out.fill(e.value, e.at, Math.min(out.length, e.at + e.span));
      return cut === undefined ? out : out.subarray(0, cut);
    });

const outcomes = { listed: 0, rejected: 0 };

async function exerciseZip(bytes: Uint8Array): Promise<void> {
  const source = new BufferSource(bytes);
  try {
    const dir = await readZipDirectory(source, { maxEntries: 50 });
    outcomes.listed++;
    const local = await checkLocalHeaders(source, dir);
    for (const entry of dir.entries) {
      const offset = local.dataOffsets[entry.index] ?? -1;
      try {
        if (offset >= 0) await verifyZipEntry(source, entry, offset, budget());
        const member = await openZipEntry(source, entry, budget(), offset);
        await readClamped(member, 0, 4096);
        await readClamped(member, Math.max(0, member.size - 16), 16);
        await member.close?.();
      } catch (error) {
        if (!isModelgateError(error) && !(error instanceof Error && error.message.startsWith("test budget"))) {
          throw error;
        }
      }
    }
  } catch (error) {
    if (!isModelgateError(error)) throw error;
    outcomes.rejected++;
  }
}

describe("container readers never crash on hostile input", () => {
  it("mutated zips", async () => {
    await fc.assert(fc.asyncProperty(fc.oneof(mutated(ZIP), mutated(ZIP64_END)), exerciseZip), {
      seed: SEED,
      numRuns: runs(300),
    });
    // The mutations exercise both paths: archives still listed and archives rejected.
    expect(outcomes.listed).toBeGreaterThan(20);
    expect(outcomes.rejected).toBeGreaterThan(20);
  });

  it("random bytes around zip signatures", async () => {
    const chunk = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      fc.constantFrom(
        Uint8Array.of(0x50, 0x4b, 5, 6),
        Uint8Array.of(0x50, 0x4b, 1, 2),
        Uint8Array.of(0x50, 0x4b, 3, 4),
        Uint8Array.of(0x50, 0x4b, 6, 6),
        Uint8Array.of(0x50, 0x4b, 6, 7),
        Uint8Array.of(0xff, 0xff, 0xff, 0xff),
      ),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(chunk, { maxLength: 30 }), (parts) => exerciseZip(Buffer.concat(parts))),
      { seed: SEED, numRuns: runs(300) },
    );
  });

  it("mutated tars", async () => {
    await fc.assert(
      fc.asyncProperty(mutated(TAR), async (bytes) => {
        try {
          const listing = await readTar(new BufferSource(bytes), { maxEntries: 50 });
          for (const e of listing.entries) expect(e.dataOffset + e.size).toBeLessThanOrEqual(bytes.length);
        } catch (error) {
          if (!isModelgateError(error)) throw error;
        }
      }),
      { seed: SEED, numRuns: runs(300) },
    );
  });

  it("mutated gzip streams", async () => {
    const base = gzipSync(Buffer.from("some text ".repeat(200)));
    await fc.assert(
      fc.asyncProperty(mutated(base), async (bytes) => {
        try {
          const r = await decompress("gzip", new BufferSource(bytes), budget());
          await r.source.close?.();
        } catch (error) {
          if (!isModelgateError(error)) throw error;
        }
      }),
      { seed: SEED, numRuns: runs(200) },
    );
  });

  it("mutated xz, bzip2, LZMA-alone and zstd streams", async () => {
    const lz = readFileSync(new URL("../../samples/containers/compressed/text.txt.lzma", import.meta.url));
    const xz = readFileSync(new URL("../../samples/containers/compressed/multi-stream.txt.xz", import.meta.url));
    const bz = readFileSync(new URL("../../samples/containers/compressed/multi-stream.txt.bz2", import.meta.url));
    const zst = readFileSync(new URL("../../samples/containers/compressed/text.txt.zst", import.meta.url));
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          mutated(xz).map((b) => ["xz", b] as const),
          mutated(bz).map((b) => ["bz2", b] as const),
          mutated(lz).map((b) => ["lzma", b] as const),
          mutated(zst).map((b) => ["zstd", b] as const),
        ),
        async ([format, bytes]) => {
          try {
            const r = await decompress(format, new BufferSource(bytes), budget());
            await r.source.close?.();
          } catch (error) {
            if (!isModelgateError(error)) throw error;
          }
        },
      ),
      { seed: SEED, numRuns: runs(400) },
    );
  });

  it("random bytes after an LZMA-alone header", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 224 }),
        fc.uint8Array({ minLength: 0, maxLength: 300 }),
        async (props, body) => {
          const header = Buffer.alloc(13, 0xff);
          header[0] = props;
          header.writeUInt32LE(1 << 16, 1);
          try {
            const r = await decompress(
              "lzma",
              new BufferSource(Buffer.concat([header, Buffer.from([0]), body])),
              budget(),
            );
            await r.source.close?.();
          } catch (error) {
            if (!isModelgateError(error)) throw error;
          }
        },
      ),
      { seed: SEED, numRuns: runs(500) },
    );
  });

  it("random bytes after a bzip2 header", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 400 }), async (tail) => {
        const bytes = Buffer.concat([Buffer.from("BZh9"), Buffer.from([0x31, 0x41, 0x59, 0x26, 0x53, 0x59]), tail]);
        try {
          const r = await decompress("bz2", new BufferSource(bytes), budget());
          await r.source.close?.();
        } catch (error) {
          if (!isModelgateError(error)) throw error;
        }
      }),
      { seed: SEED, numRuns: runs(500) },
    );
  });

  it("mutated archives through the engine always end in a typed verdict, never an internal error", async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(mutated(ZIP), mutated(TAR)), async (bytes) => {
        const file = await scanOne(bytes, "sample.bin");
        expect(["clean", "suspicious", "invalid", "malicious"]).toContain(file.verdict);
        const internal = file.findings.filter((f) => f.ruleId === "scan/internal-error");
        expect(internal.map((f) => f.message)).toEqual([]);
      }),
      { seed: SEED, numRuns: runs(150) },
    );
  });
});
