import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isModelgateError } from "../../../src/core/errors.js";
import {
  readSafetensorsHeader,
  SAFETENSORS_DTYPE_BITS,
  type SafetensorsHeader,
} from "../../../src/formats/safetensors/parser.js";
import { BufferSource, type ByteSource, GuardedSource } from "../../../src/sources/byte-source.js";

const enc = new TextEncoder();

/** A safetensors file from a header text and a data section. */
function file(header: string | Uint8Array, data: Uint8Array | number = 0): Uint8Array {
  const h = typeof header === "string" ? enc.encode(header) : header;
  const d = typeof data === "number" ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + h.length + d.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(d, 8 + h.length);
  return out;
}

async function read(bytes: Uint8Array): Promise<SafetensorsHeader> {
  return readSafetensorsHeader(new BufferSource(bytes));
}

const rules = (h: SafetensorsHeader) => [...new Set(h.issues.map((i) => i.ruleId))].sort();
const W = '{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';

describe("readSafetensorsHeader: the reference implementation's rules", () => {
  it("accepts a well-formed file, with whitespace padding on both sides", async () => {
    for (const header of [W, `  ${W}`, `${W}   `, `${W}\n\t`]) {
      const h = await read(file(header, 8));
      expect(h.issues, header).toEqual([]);
      expect(h.tensors.map((t) => [t.name, t.dtype, t.shape, t.begin, t.end])).toEqual([["w", "F32", [2n], 0n, 8n]]);
    }
  });

  it.each([
    ["NUL padding", `${W}\u0000`, 8, "safetensors/invalid-header"],
    ["BOM", `\ufeff${W}`, 8, "safetensors/invalid-header"],
    ["not an object", "[1]", 0, "safetensors/invalid-header"],
    ["float in shape", '{"w":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}}', 8, "safetensors/invalid-header"],
    ["negative dim", '{"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}', 8, "safetensors/invalid-header"],
    [
      "u64 overflow",
      '{"w":{"dtype":"F32","shape":[18446744073709551616],"data_offsets":[0,8]}}',
      8,
      "safetensors/invalid-header",
    ],
    ["three offsets", '{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8,8]}}', 8, "safetensors/invalid-header"],
    ["missing shape", '{"w":{"dtype":"F32","data_offsets":[0,8]}}', 8, "safetensors/invalid-header"],
    ["null tensor", '{"w":null}', 0, "safetensors/invalid-header"],
    ["metadata not a map", '{"__metadata__":[]}', 0, "safetensors/invalid-header"],
    ["metadata int value", '{"__metadata__":{"k":1}}', 0, "safetensors/invalid-header"],
    ["lowercase dtype", '{"w":{"dtype":"f32","shape":[2],"data_offsets":[0,8]}}', 8, "safetensors/unknown-dtype"],
    [
      "duplicate field",
      '{"w":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}}',
      8,
      "safetensors/duplicate-key",
    ],
    ["size mismatch", '{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', 8, "safetensors/tensor-size-mismatch"],
    [
      "sub-byte misaligned",
      '{"w":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}',
      2,
      "safetensors/tensor-size-mismatch",
    ],
    [
      "reversed offsets",
      '{"w":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}',
      8,
      "safetensors/offsets-not-contiguous",
    ],
    [
      "gap at start",
      '{"w":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}',
      12,
      "safetensors/offsets-not-contiguous",
    ],
    ["trailing bytes", W, 9, "safetensors/data-length-mismatch"],
    ["short data", W, 7, "safetensors/data-length-mismatch"],
    ["bytes but no tensors", "{}", 1, "safetensors/data-length-mismatch"],
  ])("flags %s", async (_label, header, data, rule) => {
    const h = await read(file(header, data));
    expect(rules(h)).toContain(rule);
  });

  it("keeps the last duplicate, as the reference does, and reports the first", async () => {
    const dup =
      '{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"w":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}}';
    const h = await read(file(dup, 8));
    expect(rules(h)).toEqual(["safetensors/duplicate-key"]);
    expect(h.tensors.map((t) => t.dtype)).toEqual(["I32"]);
  });

  it("accepts what the reference accepts: zero-size tensors sharing an offset, scalars, empty headers, escaped names", async () => {
    const h = await read(
      file(
        '{"\\u0061":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"I64","shape":[],"data_offsets":[0,8]},"__metadata__":null}',
        8,
      ),
    );
    expect(h.issues).toEqual([]);
    expect(h.tensors.map((t) => t.name)).toEqual(["a", "b"]);
    expect((await read(file("{}"))).issues).toEqual([]);
  });

  it("checks sub-byte dtypes and every known dtype's size", async () => {
    for (const [dtype, bits] of Object.entries(SAFETENSORS_DTYPE_BITS)) {
      const bytes = (8 * bits) / 8;
      const h = await read(file(`{"t":{"dtype":"${dtype}","shape":[8],"data_offsets":[0,${bytes}]}}`, bytes));
      expect(h.issues, dtype).toEqual([]);
    }
  });

  it("keeps dimensions exact beyond 2^53 and detects 64-bit overflow of the byte size", async () => {
    const exact = await read(file('{"t":{"dtype":"U8","shape":[9007199254740993,0],"data_offsets":[0,0]}}'));
    expect(exact.issues).toEqual([]);
    expect(exact.tensors[0]?.shape).toEqual([9007199254740993n, 0n]);
    const over = await read(file('{"t":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}}'));
    expect(rules(over)).toEqual(["safetensors/tensor-size-mismatch"]);
  });

  it("flags extra tensor fields without rejecting the file", async () => {
    const h = await read(file('{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}}', 8));
    expect(rules(h)).toEqual(["safetensors/nonstandard-field"]);
    expect(h.tensors).toHaveLength(1);
  });

  it("reports the header length limit and out-of-bounds headers without reading them", async () => {
    const big = new Uint8Array(16);
    new DataView(big.buffer).setBigUint64(0, 100_000_001n, true);
    expect(rules(await read(big))).toEqual(["safetensors/header-too-large"]);
    new DataView(big.buffer).setBigUint64(0, 9n, true);
    expect(rules(await read(big))).toEqual(["safetensors/header-out-of-bounds"]);
    expect(rules(await read(new Uint8Array(5)))).toEqual(["safetensors/invalid-header"]);
  });

  it("lists gaps and trailing bytes as unclaimed ranges with absolute offsets", async () => {
    const header =
      '{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[6,8]}}';
    const bytes = file(header, 11);
    const h = await read(bytes);
    const start = 8 + enc.encode(header).length;
    expect(h.unclaimed).toEqual([
      { offset: start + 2, length: 4, kind: "gap" },
      { offset: start + 8, length: 3, kind: "trailing" },
    ]);
  });

  it("reads 8 + N bytes only, whatever the file size", async () => {
    const header = enc.encode('{"w":{"dtype":"F32","shape":[5368709120],"data_offsets":[0,21474836480]}}');
    const size = 8 + header.length + 21_474_836_480;
    const sparse: ByteSource = {
      size,
      read: async (offset, length) => {
        const out = new Uint8Array(Math.max(0, Math.min(length, size - offset)));
        const prefix = file(header);
        if (offset < prefix.length) out.set(prefix.subarray(offset, offset + out.length));
        return out;
      },
    };
    const guarded = new GuardedSource(sparse, {});
    const h = await readSafetensorsHeader(guarded);
    expect(h.issues).toEqual([]);
    expect(h.parameterCount).toBe(5368709120n);
    expect(guarded.bytesRead).toBe(8 + header.length);
  });
});

const DTYPES = Object.keys(SAFETENSORS_DTYPE_BITS).filter((d) => (SAFETENSORS_DTYPE_BITS[d] ?? 0) % 8 === 0);

describe("readSafetensorsHeader properties", () => {
  it("accepts every file laid out by the spec, and finds every tensor (fixed seed)", async () => {
    const tensor = fc.record({
      name: fc.string({ minLength: 1, maxLength: 12 }).filter((s) => s !== "__metadata__"),
      dtype: fc.constantFrom(...DTYPES),
      shape: fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 3 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(tensor, { selector: (t) => t.name, maxLength: 6 }), async (tensors) => {
        let offset = 0;
        const header: Record<string, unknown> = { __metadata__: { format: "pt" } };
        for (const t of tensors) {
          const n = (t.shape.reduce((a, b) => a * b, 1) * (SAFETENSORS_DTYPE_BITS[t.dtype] ?? 8)) / 8;
          header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + n] };
          offset += n;
        }
        const h = await read(file(JSON.stringify(header), offset));
        expect(h.issues).toEqual([]);
        expect(h.tensors.map((t) => t.name).sort()).toEqual(tensors.map((t) => t.name).sort());
        expect(h.metadata?.get("format")).toBe("pt");
      }),
      { seed: 1234, numRuns: 200 },
    );
  });

  it("never throws anything but ModelgateError on corrupted files (fixed seed)", async () => {
    const good = file(
      '{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[8,12]}}',
      12,
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        fc.nat(good.length),
        async (edits, cut) => {
          const bytes = good.slice(0, Math.max(cut, 1));
          for (const [at, v] of edits) if (at < bytes.length) bytes[at] = v;
          try {
            await read(bytes);
          } catch (error) {
            expect(isModelgateError(error)).toBe(true);
          }
        },
      ),
      { seed: 99, numRuns: 500 },
    );
  });
});
