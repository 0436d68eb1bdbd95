import { Builder } from "flatbuffers";
import { describe, expect, it } from "vitest";
import { BufferSource } from "../../../src/core/byte-source.js";
import { isModelgateError } from "../../../src/core/errors.js";
import { walkFlatbuffer } from "../../../src/formats/flatbuffer/paged.js";
import { ArrayBytes, FlatbufferReader, type Table } from "../../../src/formats/flatbuffer/reader.js";
import { ints, offsets, table } from "./build.js";

const reader = (bytes: Uint8Array, budgets = {}) => new FlatbufferReader(new ArrayBytes(bytes), budgets);

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (isModelgateError(error)) return error.code;
    throw error;
  }
  return undefined;
}

/** root { 0: u32 7, 1: "hello", 2: [1, 2, 3], 3: { 0: i32 -5 }, 4: [ {0: 1}, {0: 2} ] } */
function sample(): Uint8Array {
  const b = new Builder(64);
  const s = b.createString("hello");
  const v = ints(b, [1, 2, 3]);
  const sub = table(b, [{ i32: -5 }]);
  const list = offsets(b, [table(b, [{ u32: 1 }]), table(b, [{ u32: 2 }])]);
  const root = table(b, [{ u32: 7 }, { off: s }, { off: v }, { off: sub }, { off: list }]);
  b.finish(root, "TEST");
  return b.asUint8Array().slice();
}

describe("flatbuffer reader", () => {
  it("reads tables, strings, vectors and sub-tables written by the flatbuffers Builder", () => {
    const r = reader(sample());
    expect(r.identifier()).toBe("TEST");
    const root = r.root();
    expect(root.u32(0)).toBe(7);
    expect(root.string(1)).toBe("hello");
    expect(root.i32s(2).values).toEqual([1, 2, 3]);
    expect(root.table(3)?.i32(0)).toBe(-5);
    const seen: number[] = [];
    expect(root.tables(4, (t: Table) => seen.push(t.u32(0)))).toBe(2);
    expect(seen).toEqual([1, 2]);
    expect(root.has(9)).toBe(false);
    expect(root.u32(9, 42)).toBe(42);
    expect(r.anomalyCount).toBe(0);
  });

  it("rejects a vector claiming 2^31 elements without iterating or allocating", () => {
    const bytes = sample();
    const r0 = reader(bytes);
    const v = r0.root().vector(2, 4);
    expect(v?.length).toBe(3);
    new DataView(bytes.buffer).setUint32(v!.offset, 0x8000_0000, true);
    expect(codeOf(() => reader(bytes).root().i32s(2))).toBe("MALFORMED");
    expect(
      codeOf(() =>
        reader(bytes)
          .root()
          .tables(2, () => {}),
      ),
    ).toBe("MALFORMED");
  });

  it("rejects a vtable past the end, an odd or tiny vtable, and a root past the end", () => {
    const bytes = sample();
    const dv = new DataView(bytes.buffer);
    const root = dv.getUint32(0, true);
    const patched = bytes.slice();
    new DataView(patched.buffer).setInt32(root, -(bytes.length + 100), true);
    expect(codeOf(() => reader(patched).root())).toBe("MALFORMED");
    const vt = root - dv.getInt32(root, true);
    const odd = bytes.slice();
    new DataView(odd.buffer).setUint16(vt, 5, true);
    expect(codeOf(() => reader(odd).root())).toBe("MALFORMED");
    const tiny = bytes.slice();
    new DataView(tiny.buffer).setUint16(vt, 2, true);
    expect(codeOf(() => reader(tiny).root())).toBe("MALFORMED");
    const far = bytes.slice();
    new DataView(far.buffer).setUint32(0, 0xffff_fff0, true);
    expect(codeOf(() => reader(far).root())).toBe("MALFORMED");
    expect(codeOf(() => reader(new Uint8Array(3)).root())).toBe("MALFORMED");
  });

  it("rejects an offset that points to itself or wraps past the end (the only loops a forward offset allows)", () => {
    const bytes = sample();
    const r = reader(bytes);
    const at = r.root().field(3, 4)!;
    const self = bytes.slice();
    new DataView(self.buffer).setUint32(at, 0, true);
    expect(codeOf(() => reader(self).root().table(3))).toBe("MALFORMED");
    const wrap = bytes.slice();
    new DataView(wrap.buffer).setUint32(at, 0xffff_fffc, true);
    expect(codeOf(() => reader(wrap).root().table(3))).toBe("MALFORMED");
  });

  it("rejects a string without its terminator", () => {
    const bytes = sample();
    const r = reader(bytes);
    const at = r.root().field(1, 4)!;
    const str = at + new DataView(bytes.buffer).getUint32(at, true);
    bytes[str + 4 + 5] = 0x21;
    expect(codeOf(() => reader(bytes).root().string(1))).toBe("MALFORMED");
  });

  it("budgets depth and tables visited (a vector of offsets all to one table)", () => {
    const b = new Builder(64);
    let t = table(b, [undefined]);
    for (let i = 0; i < 80; i++) t = table(b, [{ off: t }]);
    b.finish(t);
    const deep = b.asUint8Array().slice();
    const descend = (x: Table | undefined): void => {
      if (x !== undefined) descend(x.table(0));
    };
    expect(codeOf(() => descend(reader(deep).root()))).toBe("BUDGET_EXCEEDED");
    expect(codeOf(() => descend(reader(deep, { maxDepth: 100 }).root()))).toBeUndefined();

    const c = new Builder(64);
    const shared = table(c, [{ u32: 1 }]);
    const many = offsets(
      c,
      Array.from({ length: 5000 }, () => shared),
    );
    c.finish(table(c, [{ off: many }]));
    const dag = c.asUint8Array().slice();
    expect(
      codeOf(() =>
        reader(dag, { maxTables: 1000 })
          .root()
          .tables(0, () => {}),
      ),
    ).toBe("BUDGET_EXCEEDED");
    expect(
      codeOf(() =>
        reader(dag, { maxElements: 1000 })
          .root()
          .tables(0, () => {}),
      ),
    ).toBe("BUDGET_EXCEEDED");
  });

  it("records misalignment as an anomaly and reads on", () => {
    // the same table one byte later: root offset, table and vtable shifted together
    const bytes = sample();
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes.subarray(0, 8), 0);
    shifted.set(bytes.subarray(8), 9);
    new DataView(shifted.buffer).setUint32(0, new DataView(bytes.buffer).getUint32(0, true) + 1, true);
    const r = reader(shifted);
    expect(r.root().u32(0)).toBe(7);
    expect(r.anomalies.some((a) => a.kind === "misaligned")).toBe(true);
  });

  it("walks a large buffer in pages and finds what the whole reading finds", async () => {
    const b = new Builder(1024);
    const filler = ints(
      b,
      Array.from({ length: 200_000 }, (_, i) => i),
    );
    const names = Array.from({ length: 300 }, (_, i) =>
      table(b, [{ off: b.createString(`n${i}`) }, { off: ints(b, new Array(500).fill(i)) }]),
    );
    const root = table(b, [{ off: offsets(b, names) }, { off: filler }]);
    b.finish(root);
    const bytes = b.asUint8Array().slice();
    const walk = (x: ConstructorParameters<typeof FlatbufferReader>[0]) => {
      const r = new FlatbufferReader(x);
      const out: string[] = [];
      r.root().tables(0, (t) => out.push(t.string(0) ?? ""));
      return out;
    };
    const whole = walk(new ArrayBytes(bytes));
    const paged = await walkFlatbuffer(new BufferSource(bytes), bytes.length, walk, {
      wholeBytes: 1024,
      pageSize: 4096,
    });
    expect(paged).toEqual(whole);
    expect(whole).toHaveLength(300);
    await expect(
      walkFlatbuffer(new BufferSource(bytes), bytes.length, walk, { wholeBytes: 1024, pageSize: 4096, maxPages: 3 }),
    ).rejects.toMatchObject({ code: "BUDGET_EXCEEDED" });
  });
});
