/**
 * `.npy` headers as `numpy.load(allow_pickle=True)` reads them: the Python literal (escapes,
 * concatenation, comments, the `L` suffix), every `descr` spelling whose dtype holds objects, and
 * headers modelgate cannot judge, whose data is still analysed as a pickle.
 */
import { describe, expect, it } from "vitest";
import { numpyAnalyzer } from "../../../src/formats/numpy/analyzer.js";
import { judgeDescr } from "../../../src/formats/numpy/dtype.js";
import { inspectNpyHeader } from "../../../src/formats/numpy/npy.js";
import { type PyLiteral, parsePyLiteral, stringDict } from "../../../src/formats/numpy/pyliteral.js";
import { BufferSource } from "../../../src/sources/byte-source.js";
import { bytes, fakeContext } from "../pickle/helpers.js";

/** A .npy file with this header text (aligned as numpy aligns) and data. */
function npy(header: string, data: Uint8Array = new Uint8Array(0), version = 1): Uint8Array {
  const fixed = version === 1 ? 10 : 12;
  const pad = (64 - ((fixed + header.length + 1) % 64)) % 64;
  const h = `${header}${" ".repeat(pad)}\n`;
  const len =
    version === 1 ? [h.length & 0xff, h.length >> 8] : [h.length & 0xff, (h.length >> 8) & 0xff, h.length >> 16, 0];
  return bytes([0x93], "NUMPY", [version, 0], len, h, data);
}

const PAYLOAD = bytes("cos\nsystem\n(S'echo hi'\ntR.");

describe("parsePyLiteral", () => {
  const get = (text: string) => stringDict(parsePyLiteral(text, { dropLongSuffix: true }))?.get("d");

  it("evaluates escapes, concatenation, comments and prefixes as Python does", () => {
    expect(get("{'d': '\\x4f'}")).toBe("O");
    expect(get("{'d': '\\117'}")).toBe("O");
    expect(get("{'d': '\\u004f'}")).toBe("O");
    expect(get("{'d': r'\\x4f'}")).toBe("\\x4f");
    expect(get("{'d': 'O' ''}")).toBe("O");
    expect(get("{'d': u'O' \\\n ''}")).toBe("O");
    expect(get("{'d': '''O'''}")).toBe("O");
    expect(get("{'d': 'x', # comment\n 'd': 'O'}")).toBe("O");
    expect(get("{'d': (1L, 2 L)}")).toEqual({ tuple: [1, 2] });
    expect(get("{'d': (-1, True, 0x10, 1_0, 99999999999999999999)}")).toEqual({
      tuple: [-1, true, 16, 10, 99999999999999999999n],
    });
    expect(get("{'d': b'O'}")).toEqual({ bytes: "O" });
    expect(get("{'d': {'xO': 1}}")).toEqual({ dict: new Map([["sxO", { key: "xO", value: 1 }]]) });
  });

  it("rejects what Python rejects, and reports what it does not evaluate as unsupported", () => {
    expect(() => parsePyLiteral("{'d': 'O' b''}")).toThrow(/concatenated/);
    expect(() => parsePyLiteral("{'d': 1L}")).toThrow(/bad number/);
    expect(() => parsePyLiteral("{'d': f'O'}")).toThrow(/f-string/);
    expect(() => parsePyLiteral("{'d': 0_1}")).toThrow(/bad number/);
    for (const text of ["{'d': '\\N{LATIN CAPITAL LETTER O}'}", "{'d': 1+2j}"]) {
      expect(() => parsePyLiteral(text), text).toThrow(expect.objectContaining({ unsupported: true }));
    }
  });
});

describe("judgeDescr", () => {
  const kind = (d: string) => judgeDescr(parsePyLiteral(d) as PyLiteral).kind;

  it("finds objects wherever numpy's dtype construction puts them", () => {
    for (const d of [
      "'|O'",
      "('O')",
      "'object'",
      "'object_'",
      "'O8'",
      "'i4,O'",
      "'i4, object'",
      "'(2,)O'",
      "'2O'",
      "'|(2,)O'",
      "'O,'",
      "[['a','O']]",
      "[('a', 'i4'), ('', '|V4'), ('b', 'O')]",
      "[('a', ('O', (1,)))]",
      "[('a', 'O', 2)]",
      "[(('title', 'a'), 'O')]",
      "[('n', [('m', '|O')])]",
      "('O',(1,))",
      "('O', [('a', 'O')])",
      "{'xO': 1}",
      "['aO']",
      "{('a', 'O'): 1}",
      "[{'a': 1, 'O': 2}]",
    ]) {
      expect(kind(d), d).toBe("object");
    }
  });

  it("judges the dtypes numpy writes as plain, with their sizes", () => {
    const plain = (d: string, itemsize: number) =>
      expect(judgeDescr(parsePyLiteral(d) as PyLiteral), d).toEqual({ kind: "plain", itemsize });
    plain("'<f8'", 8);
    plain("'|b1'", 1);
    plain("'<U3'", 12);
    plain("'<M8[ns]'", 8);
    plain("'float32'", 4);
    plain("'i4,(2,3)f8'", 52);
    plain("[('a', '<i4'), ('', '|V4'), ('b', '<f8', (2,))]", 24);
    plain("('<i4', (2,))", 8);
  });

  it("never guesses plain for what it does not know", () => {
    expect(kind("'zz'")).toBe("unknown");
    expect(kind("'i4,zz'")).toBe("unknown");
    expect(kind("[{'aO'}]")).toBe("unknown");
    expect(kind("1")).toBe("invalid");
    expect(kind("('O',)")).toBe("invalid");
    expect(kind("[('a', 'O', (2,), 1)]")).toBe("invalid");
  });
});

describe("inspectNpyHeader", () => {
  const inspect = (header: string, version = 1) => inspectNpyHeader(new BufferSource(npy(header, undefined, version)));

  it("accepts what numpy accepts with allow_pickle=True", async () => {
    const object = await inspect("{'descr': 'object', 'fortran_order': False, 'shape': (True,), }");
    expect(object).toMatchObject({ status: "ok", header: { dtype: { object: true }, shape: [1] } });
    const negative = await inspect("{'descr': '|O', 'fortran_order': False, 'shape': (-1,), }");
    expect(negative).toMatchObject({ status: "ok", header: { dtype: { object: true }, shape: [-1] } });
    // numpy drops the Python 2 `L` suffix from 1.0 and 2.0 headers only
    const long = "{'descr': '<f8', 'fortran_order': False, 'shape': (1L,), }";
    expect(await inspect(long, 2)).toMatchObject({ status: "ok" });
    expect(await inspect(long, 3)).toMatchObject({ status: "unjudged" });
    const named = "{'descr': '\\N{LATIN CAPITAL LETTER O}', 'fortran_order': False, 'shape': (1,), }";
    expect(await inspect(named)).toMatchObject({ status: "unjudged" });
    expect(await inspect("{'descr': '<f8', 'fortran_order': False, 'shape': (1.0,), }")).toMatchObject({
      status: "invalid",
    });
  });

  it("judges a header over its budget as unjudged and locates the data after it", async () => {
    const big = npy(`{'descr': '|O', 'fortran_order': False, 'shape': (1,), }${" ".repeat(1 << 20)}`, PAYLOAD, 2);
    const r = await inspectNpyHeader(new BufferSource(big));
    expect(r).toMatchObject({ status: "unjudged", dataOffset: big.length - PAYLOAD.length });
  });
});

describe("numpyAnalyzer", () => {
  it("reads every object-dtype spelling numpy accepts as an object array", async () => {
    for (const descr of ["('O')", "'object'", "'i4,O'", "'(2,)O'", "'\\x4f'", "[['a','O']]", "{'xO': 1}"]) {
      const r = fakeContext(npy(`{'descr': ${descr}, 'fortran_order': False, 'shape': (1,), }`, PAYLOAD), "numpy");
      await numpyAnalyzer.analyze(r.ctx);
      expect(
        r.findings.map((f) => f.ruleId),
        descr,
      ).toEqual(["numpy/object-array", "pickle/dangerous-global"]);
    }
  });

  it("analyses the data as a pickle when the header is unjudged or rejected", async () => {
    const cases = {
      "numpy/unjudged-header": "{'descr': '\\N{LATIN CAPITAL LETTER O}', 'fortran_order': False, 'shape': (1,), }",
      "numpy/malformed": "{'descr': 'O', 'fortran_order': False, 'shape': (1,), 'extra': 1}",
    };
    for (const [rule, header] of Object.entries(cases)) {
      const r = fakeContext(npy(header, PAYLOAD), "numpy");
      await numpyAnalyzer.analyze(r.ctx);
      expect(
        r.findings.map((f) => f.ruleId),
        header,
      ).toEqual([rule, "pickle/dangerous-global"]);
    }
    const big = npy(`{'descr': '|O', 'fortran_order': False, 'shape': (1,), }${" ".repeat(1 << 20)}`, PAYLOAD, 2);
    const r = fakeContext(big, "numpy");
    await numpyAnalyzer.analyze(r.ctx);
    expect(r.findings.map((f) => f.ruleId)).toEqual(["numpy/unjudged-header", "pickle/dangerous-global"]);
  });

  it("reports only the header when the bytes behind a rejected one are no pickle", async () => {
    const floats = fakeContext(npy("{'descr': '<f8', 'fortran_order': 0, 'shape': (2,)}", new Uint8Array(16)), "numpy");
    await numpyAnalyzer.analyze(floats.ctx);
    expect(floats.findings.map((f) => f.ruleId)).toEqual(["numpy/malformed"]);
  });
});
