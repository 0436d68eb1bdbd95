import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isModelgateError } from "../../../src/core/errors.js";
import { BLOB_SENTINEL, detectMilWeights, readMilWeights } from "../../../src/formats/coreml/weights.js";
import { MAX_SIBLING_MODEL_BYTES, modelFor } from "../../../src/formats/coreml/weights-analyzer.js";
import { sniff } from "../../../src/registry/catalog.js";
import { scan } from "../../../src/scan/engine.js";
import { BufferSource } from "../../../src/sources/byte-source.js";
import { ruleIds, SAMPLES, scanOne, scanSample } from "../../helpers/scan.js";

// MIL blob storage v2, written from the layout of coremltools' StorageFormat.hpp.
interface Blob {
  dtype: number;
  data: Uint8Array;
  sentinel?: number;
  dataOffset?: number;
  size?: bigint;
  padding?: number;
}
function storage(blobs: Blob[], options: { count?: number; version?: number; gap?: number } = {}) {
  const parts: number[] = [];
  const header = new DataView(new ArrayBuffer(64));
  header.setUint32(0, options.count ?? blobs.length, true);
  header.setUint32(4, options.version ?? 2, true);
  parts.push(...new Uint8Array(header.buffer));
  const offsets: number[] = [];
  for (const b of blobs) {
    while (parts.length % 64 !== 0) parts.push(0);
    const at = parts.length;
    offsets.push(at);
    const gap = options.gap ?? 0;
    const rec = new DataView(new ArrayBuffer(64));
    rec.setUint32(0, b.sentinel ?? BLOB_SENTINEL, true);
    rec.setUint32(4, b.dtype, true);
    rec.setBigUint64(8, b.size ?? BigInt(b.data.length), true);
    rec.setBigUint64(16, BigInt(b.dataOffset ?? at + 64 + gap), true);
    rec.setBigUint64(24, BigInt(b.padding ?? 0), true);
    parts.push(...new Uint8Array(rec.buffer), ...new Array<number>(gap).fill(0), ...b.data);
  }
  return { bytes: new Uint8Array(parts), offsets };
}
const f32 = (n: number) => ({ dtype: 2, data: new Uint8Array(4 * n).fill(0x3f) });
const f16 = (n: number) => ({ dtype: 1, data: new Uint8Array(2 * n).fill(0x3c) });
const read = (bytes: Uint8Array, maxBlobs?: number) =>
  readMilWeights(new BufferSource(bytes), maxBlobs === undefined ? {} : { maxBlobs });
const malformed = async (bytes: Uint8Array, code = "MALFORMED", message?: RegExp) => {
  const error = await read(bytes).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isModelgateError(error, code as "MALFORMED")).toBe(true);
  if (message !== undefined) expect((error as Error).message).toMatch(message);
};
const PACKAGE = join(SAMPLES, "coreml/ml_program.mlpackage");
const WEIGHTS = new Uint8Array(readFileSync(join(PACKAGE, "Data/com.apple.CoreML/weights/weight.bin")));
const sniffInput = (head: Uint8Array, name = "weight.bin") => ({ head, tail: head, size: head.length, name });

describe("Core ML weight file detection", () => {
  it("recognises the blob storage by its header and first sentinel, whatever its name", () => {
    expect(detectMilWeights(sniffInput(WEIGHTS))?.format).toBe("coreml-weights");
    expect(sniff(sniffInput(WEIGHTS, "anything.dat"))[0]?.format).toBe("coreml-weights");
    expect(detectMilWeights(sniffInput(storage([]).bytes))?.format).toBe("coreml-weights");
  });

  it("does not take a file for weights by its name, nor a near miss by content", () => {
    const random = new Uint8Array(256).map((_, i) => (i * 37 + 11) & 0xff);
    expect(sniff(sniffInput(random, "weight.bin")).map((d) => d.format)).not.toContain("coreml-weights");
    const v1 = storage([f32(4)], { version: 1 }).bytes;
    expect(detectMilWeights(sniffInput(v1))).toBeUndefined();
    const reserved = WEIGHTS.slice();
    reserved[40] = 1;
    expect(detectMilWeights(sniffInput(reserved))).toBeUndefined();
    const noSentinel = storage([{ ...f32(4), sentinel: 0xdeadbeee }]).bytes;
    expect(detectMilWeights(sniffInput(noSentinel))).toBeUndefined();
    // an empty store is exactly its header
    expect(detectMilWeights(sniffInput(new Uint8Array([...storage([]).bytes, 0])))).toBeUndefined();
  });
});

describe("Core ML weight file reader", () => {
  it("walks the sample's records: offsets, dtypes, sizes, elements", async () => {
    const seen: number[] = [];
    const s = await readMilWeights(new BufferSource(WEIGHTS), { onRecord: (r) => seen.push(r.metadataOffset) });
    expect(seen).toEqual([64, 192]);
    expect(s).toMatchObject({ count: 2, dataBytes: 36, elements: 10, end: 260, gapBytes: 0 });
    expect(Object.fromEntries(s.dtypes)).toEqual({ float32: 1, float16: 1 });
  });

  it("reads sub-byte blobs with their padding bits", async () => {
    // 5 uint3 values = 15 bits in 2 bytes, 1 padding bit; 3 int4 values = 12 bits, 4 padding bits
    const s = await read(
      storage([
        { dtype: 12, data: new Uint8Array(2), padding: 1 },
        { dtype: 8, data: new Uint8Array(2), padding: 4 },
      ]).bytes,
    );
    expect(s.elements).toBe(8);
    await malformed(storage([{ dtype: 12, data: new Uint8Array(2), padding: 8 }]).bytes, "MALFORMED", /padding/);
    await malformed(storage([{ dtype: 12, data: new Uint8Array(2), padding: 2 }]).bytes, "MALFORMED", /padding/);
  });

  it("rejects every broken record field", async () => {
    await malformed(storage([f32(2), { ...f16(2), sentinel: 0xfeedface }]).bytes, "MALFORMED", /sentinel/);
    await malformed(storage([f32(2), { dtype: 18, data: new Uint8Array(4) }]).bytes, "MALFORMED", /data type 18/);
    await malformed(storage([{ ...f32(2), dataOffset: 160 }]).bytes, "MALFORMED", /not 64-aligned/);
    // data pointing back at its own record (or the header) would make a loader's walk revisit bytes
    await malformed(storage([f32(2), { ...f16(2), dataOffset: 64 }]).bytes, "MALFORMED", /not after its record/);
    await malformed(storage([f32(2), { ...f16(2), dataOffset: 1 << 20 }]).bytes, "MALFORMED", /past the file/);
    await malformed(storage([{ ...f32(2), size: 1000n }]).bytes, "MALFORMED", /past the file/);
    await malformed(storage([{ ...f32(2), size: 1n << 63n }]).bytes, "MALFORMED", /beyond any file/);
    await malformed(storage([{ dtype: 2, data: new Uint8Array(6) }]).bytes, "MALFORMED", /whole number/);
    await malformed(storage([f32(2)], { version: 3 }).bytes, "MALFORMED", /version 3/);
  });

  it("bounds the count by the file size and by the budget", async () => {
    await malformed(storage([f32(2)], { count: 0xffffffff }).bytes, "MALFORMED", /at most \d+ fit/);
    // announced blobs that would fit but are not there
    const short = storage([f32(2)], { count: 2 }).bytes;
    await malformed(new Uint8Array([...short, ...new Uint8Array(128)]), "MALFORMED", /sentinel 0x0/);
    await malformed(storage([f32(1), f32(1), f32(1)]).bytes.slice(0, 64 * 5 + 8), "TRUNCATED");
    const many = storage(Array.from({ length: 5 }, () => f32(1))).bytes;
    expect((await read(many, 5)).count).toBe(5);
    await malformed(storage([f32(1), f32(1)]).bytes.slice(0, 32), "TRUNCATED");
    await expect(read(many, 4)).rejects.toMatchObject({ code: "BUDGET_EXCEEDED", budget: "coreml.maxWeightBlobs" });
  });

  it("never throws anything but ModelgateError on corrupted files (fixed seed)", async () => {
    const good = storage([f32(3), f16(5), { dtype: 11, data: new Uint8Array(3), padding: 4 }]).bytes;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
        fc.nat(good.length),
        async (edits, cut) => {
          const bytes = good.slice(0, cut);
          for (const [at, v] of edits) if (at < bytes.length) bytes[at] = v;
          try {
            const s = await read(bytes);
            expect(s.end).toBeLessThanOrEqual(bytes.length);
          } catch (error) {
            expect(isModelgateError(error)).toBe(true);
          }
        },
      ),
      { seed: 4242, numRuns: 500 },
    );
  });
});

describe("Core ML weight file analysis", () => {
  it("passes the package clean, with its inventory and the model's references checked", async () => {
    const report = await scanSample("coreml/ml_program.mlpackage");
    expect(report.verdict).toBe("clean");
    const weights = report.files.find((f) => f.path.endsWith("weights/weight.bin"));
    expect(weights?.format).toBe("coreml-weights");
    expect(weights?.facts).toMatchObject({
      tensorCount: 2,
      parameterCount: 10,
      dtypes: ["float32", "float16"],
      "coreml.weights.dataBytes": 36,
      "coreml.weights.model": "Data/com.apple.CoreML/model.mlmodel",
      "coreml.weights.references": 2,
    });
  });

  it("reports a model reference that is not a metadata record", async () => {
    const report = await scanSample("coreml/ml_program_dangling.mlpackage");
    const weights = report.files.find((f) => f.path.endsWith("weights/weight.bin"));
    expect(weights?.verdict).toBe("invalid");
    expect(weights?.findings.map((f) => [f.ruleId, f.evidence?.blobOffset])).toEqual([
      ["coreml/weights-dangling-reference", 256],
    ]);
  });

  it("skips the reference check when the sibling model is too large to read whole", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mg-coreml-weights-"));
    try {
      mkdirSync(join(dir, "weights"));
      writeFileSync(join(dir, "weights", "weight.bin"), WEIGHTS);
      // the dangling package's model (it references offset 256), padded past the sibling budget
      const model = readFileSync(
        join(SAMPLES, "coreml/ml_program_dangling.mlpackage/Data/com.apple.CoreML/model.mlmodel"),
      );
      writeFileSync(join(dir, "model.mlmodel"), model);
      const small = (await scan(dir)).files.find((f) => f.path === "weights/weight.bin");
      expect(ruleIds(small!)).toEqual(["coreml/weights-dangling-reference"]);
      writeFileSync(join(dir, "model.mlmodel"), Buffer.concat([model, Buffer.alloc(MAX_SIBLING_MODEL_BYTES)]));
      const large = (await scan(dir)).files.find((f) => f.path === "weights/weight.bin");
      expect(large?.verdict).toBe("clean");
      expect(large?.facts?.["coreml.weights.model"]).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("maps the model's folder to the reference name", () => {
    expect(modelFor("a.mlpackage/Data/com.apple.CoreML/weights/weight.bin")).toEqual({
      model: "a.mlpackage/Data/com.apple.CoreML/model.mlmodel",
      reference: "@model_path/weights/weight.bin",
    });
    expect(modelFor("weight.bin")).toEqual({ model: "model.mlmodel", reference: "@model_path/weight.bin" });
  });

  it("reports broken files as invalid", async () => {
    const file = await scanOne(storage([f32(2), { ...f16(2), sentinel: 0 }]).bytes, "weight.bin");
    expect(file.verdict).toBe("invalid");
    expect(ruleIds(file)).toEqual(["coreml/weights-malformed"]);
  });

  it("reports unaccounted bytes and scans what follows the last blob", async () => {
    const { bytes } = storage([f32(2)]);
    const trailing = await scanOne(
      new Uint8Array([...bytes, ...new Uint8Array(24), ...new Uint8Array(100).fill(7)]),
      "w.bin",
    );
    expect(trailing.verdict).toBe("suspicious");
    expect(ruleIds(trailing)).toContain("coreml/weights-unaccounted-bytes");
    expect(trailing.members?.map((m) => m.path)).toEqual(["w.bin!trailing-data"]);
    // alignment padding after the last blob is not unaccounted
    const padded = await scanOne(new Uint8Array([...bytes, ...new Uint8Array(24)]), "w.bin");
    expect(padded.verdict).toBe("clean");
    const gap = await scanOne(storage([f32(2)], { gap: 64 }).bytes, "w.bin");
    expect(gap.verdict).toBe("suspicious");
    expect(gap.findings.find((f) => f.ruleId === "coreml/weights-unaccounted-bytes")?.evidence?.gapBytes).toBe(64);
  });

  it("finds a pickle appended to the weights", async () => {
    const report = await scanSample("coreml/hostile/weights_trailing_pickle.bin");
    expect(report.verdict).toBe("malicious");
  });
});
