import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isModelgateError } from "../../../src/core/errors.js";
import { type GgufHeader, readGgufHeader } from "../../../src/formats/gguf/reader.js";
import { BufferSource, type ByteSource, GuardedSource } from "../../../src/sources/byte-source.js";
import { GgufBuilder, T } from "./build.js";

const read = (bytes: Uint8Array): Promise<GgufHeader> => readGgufHeader(new BufferSource(bytes));
const rules = (h: GgufHeader) => [...new Set(h.issues.map((i) => i.ruleId))].sort();

function model(options: { version?: number; le?: boolean } = {}): GgufBuilder {
  return new GgufBuilder(options)
    .kv("general.architecture", T.str, "llama")
    .kv("llama.context_length", T.u32, 4096)
    .kv("general.size", T.u64, 7_000_000_000n)
    .kv("tokenizer.ggml.tokens", T.arr, { arrayType: T.str, items: ["<s>", "</s>", "a"] })
    .kv("tokenizer.ggml.scores", T.arr, { arrayType: T.f32, items: [0, 0, 1.5] })
    .kv("tokenizer.chat_template", T.str, "{{ messages }}")
    .tensor("token_embd.weight", [64, 3], 1)
    .tensor("blk.0.attn_q.weight", [64, 64], 8)
    .tensor("output_norm.weight", [64], 0);
}

describe("readGgufHeader", () => {
  it.each([
    [1, true],
    [2, true],
    [3, true],
    [3, false],
    [2, false],
  ])("reads version %i (%s little-endian)", async (version, le) => {
    const h = await read(model({ version, le }).build());
    expect(h.issues).toEqual([]);
    expect(h.complete).toBe(true);
    expect(h.version).toBe(version);
    expect(h.littleEndian).toBe(le);
    const kv = Object.fromEntries(h.keyValues.map((k) => [k.key, k.value]));
    expect(kv["general.architecture"]).toBe("llama");
    expect(kv["llama.context_length"]).toBe(4096);
    expect(kv["general.size"]).toBe(7_000_000_000n);
    expect(kv["tokenizer.ggml.tokens"]).toEqual(["<s>", "</s>", "a"]);
    expect(kv["tokenizer.ggml.scores"]).toEqual([0, 0, 1.5]);
    expect(h.tensors.map((t) => [t.name, t.dims, t.type])).toEqual([
      ["token_embd.weight", [64n, 3n], 1],
      ["blk.0.attn_q.weight", [64n, 64n], 8],
      ["output_norm.weight", [64n], 0],
    ]);
    expect(h.tensors.map((t) => t.byteSize)).toEqual([384n, 4352n, 256n]);
    expect(h.dataEnd).toBe(BigInt(h.dataOffset ?? 0) + 384n + 4352n + 256n);
  });

  it("counts large arrays without keeping them and skips their bytes", async () => {
    const tokens = Array.from({ length: 5000 }, (_, i) => `tok${i}`);
    const h = await read(
      new GgufBuilder().kv("tokenizer.ggml.tokens", T.arr, { arrayType: T.str, items: tokens }).build(),
    );
    const kv = h.keyValues[0];
    expect(kv?.length).toBe(5000);
    expect(kv?.value).toBeUndefined();
    expect(h.complete).toBe(true);
  });

  it.each([
    [
      "unknown version",
      () => {
        const b = model().build();
        new DataView(b.buffer).setUint32(4, 9, true);
        return b;
      },
      "gguf/unsupported-version",
    ],
    ["missing magic", () => new TextEncoder().encode("GGUX\u0003\u0000\u0000\u0000"), "gguf/malformed"],
    ["tensor count past the file", () => model().build({ tensorCount: 1n << 40n }), "gguf/count-out-of-bounds"],
    ["kv count past the file", () => model().build({ kvCount: 1n << 50n }), "gguf/count-out-of-bounds"],
    [
      "string longer than the file",
      () =>
        new GgufBuilder()
          .rawKv((b) => {
            b.str("general.name");
            b.u32(T.str);
            b.len(1n << 40n);
          })
          .build(),
      "gguf/malformed",
    ],
    [
      "array longer than the file",
      () =>
        new GgufBuilder()
          .rawKv((b) => {
            b.str("tokenizer.ggml.scores");
            b.u32(T.arr);
            b.u32(T.f32);
            b.len(1n << 30n);
          })
          .build(),
      "gguf/malformed",
    ],
    [
      "nested array",
      () =>
        new GgufBuilder()
          .rawKv((b) => {
            b.str("x");
            b.u32(T.arr);
            b.u32(T.arr);
            b.len(0);
          })
          .build(),
      "gguf/malformed",
    ],
    [
      "invalid value type",
      () =>
        new GgufBuilder()
          .rawKv((b) => {
            b.str("x");
            b.u32(13);
          })
          .build(),
      "gguf/malformed",
    ],
    ["empty key", () => new GgufBuilder().kv("", T.u8, 1).build(), "gguf/malformed"],
    ["truncated header", () => model().build().subarray(0, 200), "gguf/malformed"],
    ["duplicate key", () => model().kv("general.architecture", T.str, "gpt2").build(), "gguf/duplicate-key"],
    ["duplicate tensor", () => model().tensor("output_norm.weight", [64]).build(), "gguf/duplicate-key"],
    ["alignment not a power of two", () => model().kv("general.alignment", T.u32, 48).build(), "gguf/bad-alignment"],
    ["alignment of the wrong type", () => model().kv("general.alignment", T.i32, 32).build(), "gguf/bad-alignment"],
    ["five dimensions", () => model().tensor("x", [1, 1, 1, 1, 1]).build(), "gguf/invalid-tensor-info"],
    ["removed type", () => model().tensor("x", [32], 4).build(), "gguf/invalid-tensor-info"],
    ["unknown type", () => model().tensor("x", [32], 99).build(), "gguf/invalid-tensor-info"],
    [
      "row not a block multiple",
      () => model().tensor("x", [33], 8, { write: false }).build(),
      "gguf/invalid-tensor-info",
    ],
    [
      "negative dim",
      () =>
        model()
          .tensor("x", [(1n << 64n) - 1n], 0, { write: false })
          .build(),
      "gguf/invalid-tensor-info",
    ],
    [
      "element count overflow",
      () =>
        model()
          .tensor("x", [1n << 40n, 1n << 40n], 0, { write: false })
          .build(),
      "gguf/invalid-tensor-info",
    ],
    ["long tensor name", () => model().tensor("n".repeat(64), [4]).build(), "gguf/invalid-tensor-info"],
    ["misaligned offset", () => model().tensor("x", [4], 0, { offset: 4996n }).build(), "gguf/tensor-layout"],
    ["overlap", () => model().tensor("x", [4], 0, { offset: 0n }).build(), "gguf/tensor-layout"],
    ["gap", () => model().tensor("x", [4], 0, { offset: 9984n }).build(), "gguf/tensor-layout"],
    [
      "data past the end",
      () => model().tensor("x", [1024], 0, { write: false, offset: 4992n }).build(),
      "gguf/tensor-out-of-bounds",
    ],
  ])("flags %s", async (_label, make, rule) => {
    const h = await read(make());
    expect(rules(h)).toContain(rule);
  });

  it("costs the same for a 20 GB file as for a small one: reads the header region only", async () => {
    const prefix = model().build();
    const size = 20 * 1024 ** 3;
    const sparse: ByteSource = {
      size,
      read: async (offset, length) => {
        const out = new Uint8Array(Math.max(0, Math.min(length, size - offset)));
        if (offset < prefix.length) out.set(prefix.subarray(offset, offset + out.length));
        return out;
      },
    };
    const guarded = new GuardedSource(sparse, {});
    const h = await readGgufHeader(guarded);
    expect(h.complete).toBe(true);
    expect(h.tensors).toHaveLength(3);
    expect(guarded.bytesRead).toBeLessThanOrEqual(1 << 20);
  });

  it("starts from the head the sniffer already read without reading it again", async () => {
    const bytes = model().build();
    const guarded = new GuardedSource(new BufferSource(bytes), {});
    const h = await readGgufHeader(guarded, { head: bytes.subarray(0, 64 * 1024) });
    expect(h.complete).toBe(true);
    expect(guarded.bytesRead).toBe(0);
  });

  it("enforces the entry budgets with BUDGET_EXCEEDED", async () => {
    const bytes = model().build();
    await expect(readGgufHeader(new BufferSource(bytes), { maxTensors: 2 })).rejects.toMatchObject({
      code: "BUDGET_EXCEEDED",
    });
    await expect(readGgufHeader(new BufferSource(bytes), { maxKeyValues: 2 })).rejects.toMatchObject({
      code: "BUDGET_EXCEEDED",
    });
  });
});

describe("readGgufHeader properties", () => {
  const scalar = fc.oneof(
    fc.record({ type: fc.constant(T.u32), value: fc.nat(0xffffffff) }),
    fc.record({ type: fc.constant(T.i8), value: fc.integer({ min: -128, max: 127 }) }),
    fc.record({ type: fc.constant(T.u64), value: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) }),
    fc.record({ type: fc.constant(T.bool), value: fc.boolean() }),
    fc.record({ type: fc.constant(T.str), value: fc.string({ maxLength: 40 }) }),
  );

  it("reads back every key/value and tensor written by the spec, any version and byte order (fixed seed)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(1, 2, 3),
        fc.boolean(),
        fc.uniqueArray(fc.tuple(fc.string({ minLength: 1, maxLength: 20 }), scalar), {
          selector: ([k]) => k,
          maxLength: 8,
        }),
        fc.uniqueArray(
          fc.record({
            name: fc.string({ minLength: 1, maxLength: 20 }).filter((s) => new TextEncoder().encode(s).length < 64),
            dims: fc
              .tuple(fc.constantFrom(32, 64), fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 3 }))
              .map(([row, rest]) => [row, ...rest]),
            type: fc.constantFrom(0, 1, 2, 8, 30),
          }),
          { selector: (t) => t.name, maxLength: 5 },
        ),
        async (version, le, kvs, tensors) => {
          const b = new GgufBuilder({ version, le });
          for (const [key, s] of kvs) b.kv(key, s.type, s.value);
          for (const t of tensors) b.tensor(t.name, t.dims, t.type);
          const h = await read(b.build());
          expect(h.issues).toEqual([]);
          expect(h.keyValues.map((k) => [k.key, k.value])).toEqual(kvs.map(([k, s]) => [k, s.value]));
          expect(h.tensors.map((t) => t.name)).toEqual(tensors.map((t) => t.name));
          expect(h.tensors.map((t) => t.dims.map(Number))).toEqual(tensors.map((t) => t.dims));
        },
      ),
      { seed: 31337, numRuns: 200 },
    );
  });

  it("never throws anything but ModelgateError on corrupted files (fixed seed)", async () => {
    const good = model().build();
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
        fc.nat(good.length),
        async (edits, cut) => {
          const bytes = good.slice(0, Math.max(cut, 4));
          for (const [at, v] of edits) if (at < bytes.length) bytes[at] = v;
          try {
            const h = await read(bytes);
            if (!h.complete) expect(h.issues.length).toBeGreaterThan(0);
          } catch (error) {
            expect(isModelgateError(error)).toBe(true);
          }
        },
      ),
      { seed: 2024, numRuns: 600 },
    );
  });
});
