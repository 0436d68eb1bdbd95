import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isModelgateError } from "../../../src/core/errors.js";
import { dangerousNames, parseMarshal } from "../../../src/formats/marshal/marshal.js";

// marshal.dumps(...).__code__ of real CPython 3.11.2 objects (see samples/generate/formats_b.py)
const PY311 = {
  lambda:
    "4wEAAAAAAAAAAAAAAAMAAAADAAAA80oAAACXAHQBAAAAAAAAAAAAAGQBpgEAAKsBAAAAAAAAAACgAQAAAAAAAAAAAAAAAAAAAAAAAAAAZAKmAQAAqwEAAAAAAAAAAHABfABTACkDTtoCb3PaAmlkKQLaCl9faW1wb3J0X1/aBnN5c3RlbSkB2gF4cwEAAAAg+gc8c3RkaW4++gg8bGFtYmRhPnIIAAAABgAAAHMhAAAAgACVaqAU0RYm1BYm1xYt0hYtqGTRFjPUFjPQFjiwcYAA8wAAAAA=",
  nested:
    "4wEAAAAAAAAAAAAAAAMAAAADAAAA8zgAAACXAGQBZABsAH0BfAGgAQAAAAAAAAAAAAAAAAAAAAAAAAAAZAKmAQAAqwEAAAAAAAAAAHABfABTACkDTukAAAAA+gdlY2hvIGhpKQLaAm9z2gZzeXN0ZW0pAtoBeHIEAAAAcwIAAAAgIPoHPHN0ZGluPtoBZnIIAAAAAgAAAHMiAAAAgADYBA2ASYBJgEnYCw2POYo5kFnRCx/UCx/QCySgMdAEJPMAAAAA",
  comprehension:
    "4wEAAAAAAAAAAAAAAAIAAAADAAAA8xoAAACXAGQBhAB8AEQApgAAAKsAAAAAAAAAAABTACkCTmMBAAAAAAAAAAAAAAAEAAAAEwAAAPMkAAAAlwBnAHwAXQ19AXwBZABrBAAAAACvCHwBZAF6BQAAkQKMDlMAKQLaAWHpAgAAAKkAKQLaAi4w2gF5cwIAAAAgIPoHPHN0ZGluPvoKPGxpc3Rjb21wPnocPGxhbWJkYT4uPGxvY2Fscz4uPGxpc3Rjb21wPggAAABzIQAAAIAA0B460B460B46oHGwIbBjsiewJ5hxoBGZc7AnsCewJ/MAAAAAcgUAAAApAdoCeHNzAQAAACByCAAAAPoIPGxhbWJkYT5yDAAAAAgAAABzFQAAAIAA0B460B46qELQHjrRHjrUHjqAAHIKAAAA",
  values:
    "KQvpAQAAAGwFAAAAAAAAAAAAAAAABOcAAAAAAAAMwPkAAAAAAAAAAAAAAAAAAPA/8wEAAABi9QMAAABzw6lOVC4+AQAAAHIAAAAAe9oBa1sCAAAAcgAAAADpAgAAADA=",
};
const b64 = (s: string) => new Uint8Array(Buffer.from(s, "base64"));

/** Builds marshal bytes by hand, for layouts CPython 3.11 cannot produce. */
const enc = {
  i32: (n: number) => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setInt32(0, n, true);
    return b;
  },
  bytes: (b: Uint8Array) => Uint8Array.from([0x73, ...enc.i32(b.length), ...b]),
  str: (s: string) => Uint8Array.from([0x7a, s.length, ...Buffer.from(s, "latin1")]),
  tuple: (...items: Uint8Array[]) => Uint8Array.from([0x29, items.length, ...items.flatMap((i) => [...i])]),
};

/** A Python 3.8-3.10 code object: 6 ints, then code, consts, names, varnames, freevars, cellvars ... */
function py38Code(names: string[], consts: string[]): Uint8Array {
  return Uint8Array.from([
    0x63,
    ...[1, 0, 0, 1, 2, 67].flatMap((n) => [...enc.i32(n)]),
    ...enc.bytes(Uint8Array.of(116, 0, 100, 1, 83, 0)),
    ...enc.tuple(Uint8Array.of(0x4e), ...consts.map(enc.str)),
    ...enc.tuple(...names.map(enc.str)),
    ...enc.tuple(enc.str("x")),
    ...enc.tuple(),
    ...enc.tuple(),
    ...enc.str("<stdin>"),
    ...enc.str("<lambda>"),
    ...enc.i32(1),
    ...enc.bytes(new Uint8Array(0)),
  ]);
}

describe("parseMarshal", () => {
  it("reads a Python 3.11 lambda and lists what it calls", () => {
    const r = parseMarshal(b64(PY311.lambda));
    expect(r.pythonVersion).toBe("3.11/3.12");
    expect(r.codeObjects).toHaveLength(1);
    const [code] = r.codeObjects;
    expect(code?.name).toBe("<lambda>");
    expect(code?.names).toEqual(["__import__", "system"]);
    expect(code?.stringConsts).toEqual(["os", "id"]);
    expect(code?.varnames).toEqual(["x"]);
    expect(code?.layout).toBe("py3.11+");
    expect(dangerousNames(r.codeObjects)).toEqual(["__import__", "os", "system"]);
    expect(r.consumed).toBe(b64(PY311.lambda).length);
  });

  it("reads import statements and nested code objects", () => {
    const nested = parseMarshal(b64(PY311.nested));
    expect(nested.codeObjects[0]?.names).toEqual(["os", "system"]);
    expect(nested.codeObjects[0]?.stringConsts).toContain("echo hi");
    const comp = parseMarshal(b64(PY311.comprehension));
    expect(comp.codeObjects.map((c) => c.name)).toEqual(["<lambda>", "<listcomp>"]);
    expect(comp.codeObjects[0]?.nested[0]?.qualname).toBe("<lambda>.<locals>.<listcomp>");
    expect(dangerousNames(comp.codeObjects)).toEqual([]);
  });

  it("decodes plain values", () => {
    const r = parseMarshal(b64(PY311.values));
    expect(r.value).toMatchObject({ kind: "tuple" });
    const items = (r.value as unknown as { items: unknown[] }).items;
    expect(items.slice(0, 3)).toEqual([1, 2n ** 70n, -3.5]);
    expect(items[3]).toEqual({ kind: "complex", re: 0, im: 1 });
    expect(items[5]).toBe("sé");
    expect(items[6]).toBeNull();
    expect(items[10]).toMatchObject({ kind: "dict" });
    expect(r.codeObjects).toHaveLength(0);
  });

  it("recognises the Python 3.8-3.10 layout", () => {
    const r = parseMarshal(py38Code(["eval"], ["1+1"]));
    expect(r.pythonVersion).toBe("3.8-3.10");
    expect(r.codeObjects[0]?.names).toEqual(["eval"]);
    expect(r.codeObjects[0]?.varnames).toEqual(["x"]);
    expect(dangerousNames(r.codeObjects)).toEqual(["eval"]);
  });

  it("enforces budgets and reports bad input as typed errors", () => {
    let deep = Uint8Array.of(0x4e);
    for (let i = 0; i < 300; i++) deep = Uint8Array.from([0x29, 1, ...deep]);
    expect(() => parseMarshal(deep)).toThrow(expect.objectContaining({ budget: "marshal.maxDepth" }));
    expect(() => parseMarshal(b64(PY311.lambda), { maxBytes: 10 })).toThrow(
      expect.objectContaining({ budget: "marshal.maxBytes" }),
    );
    expect(() => parseMarshal(Uint8Array.of(0x28, 0xff, 0xff, 0xff, 0x0f))).toThrow(
      expect.objectContaining({ code: "TRUNCATED" }),
    );
    expect(() => parseMarshal(Uint8Array.of(0x72, 5, 0, 0, 0))).toThrow(expect.objectContaining({ code: "MALFORMED" }));
    expect(() => parseMarshal(Uint8Array.of(0x01))).toThrow(expect.objectContaining({ code: "MALFORMED" }));
  });

  it("never throws anything but a typed error on random or mutated input (property)", () => {
    const samples = Object.values(PY311).map(b64);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }),
          fc
            .tuple(
              fc.constantFrom(...samples),
              fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
              fc.nat(),
            )
            .map(([s, flips, cut]) => {
              const b = s.slice();
              for (const [at, v] of flips) b[at % b.length] = v;
              return b.subarray(0, 1 + (cut % b.length));
            }),
        ),
        (bytes) => {
          try {
            parseMarshal(bytes);
          } catch (error) {
            expect(isModelgateError(error)).toBe(true);
          }
        },
      ),
      { seed: 1311, numRuns: 3000 },
    );
  });
});

describe("parseMarshal on hostile nesting", () => {
  it("stays linear on deeply nested code objects that fit no layout", () => {
    // 40 nested code objects whose innermost field is broken: each level must not retry layouts
    let inner = Uint8Array.of(0x01);
    for (let i = 0; i < 40; i++) {
      inner = Uint8Array.from([
        0x63,
        ...[0, 0, 0, 1, 0].flatMap((n) => [...enc.i32(n)]),
        ...enc.bytes(Uint8Array.of(0)),
        0x29,
        1,
        ...inner,
      ]);
    }
    const t0 = performance.now();
    expect(() => parseMarshal(inner)).toThrow(expect.objectContaining({ code: "MALFORMED" }));
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});
