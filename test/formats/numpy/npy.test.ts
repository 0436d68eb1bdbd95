import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { numpyAnalyzer } from "../../../src/formats/numpy/analyzer.js";
import { parsePyLiteral, readNpyHeader } from "../../../src/formats/numpy/npy.js";
import { stringDict } from "../../../src/formats/numpy/pyliteral.js";
import { BufferSource } from "../../../src/sources/byte-source.js";
import { SAMPLES } from "../../helpers/scan.js";
import { bytes, fakeContext } from "../pickle/helpers.js";

const sample = (p: string) => new Uint8Array(readFileSync(join(SAMPLES, "pickle", p)));

/** A .npy v1.0 file with this header text and data. */
function npy(header: string, data: Uint8Array = new Uint8Array(0), version = 1): Uint8Array {
  const pad = 64 - ((10 + header.length + 1) % 64);
  const h = `${header}${" ".repeat(pad % 64)}\n`;
  const len = version === 1 ? [h.length & 0xff, h.length >> 8] : [h.length & 0xff, h.length >> 8, 0, 0];
  return bytes([0x93], "NUMPY", [version, 0], len, h, data);
}

describe("parsePyLiteral", () => {
  it("reads the literals numpy headers use", () => {
    const v = stringDict(parsePyLiteral("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }"));
    expect(v?.get("shape")).toEqual({ tuple: [3, 4] });
    expect(parsePyLiteral("[('a', '<i4'), ('b', '<f8', (2,))]")).toHaveLength(2);
    expect(() => parsePyLiteral("__import__('os')")).toThrow(/unexpected token/);
    expect(() => parsePyLiteral("{'a': 1} extra")).toThrow(/trailing/);
  });
});

describe("readNpyHeader", () => {
  it("reads real numpy files", async () => {
    const f = await readNpyHeader(new BufferSource(sample("numpy/float.npy")));
    expect(f).toMatchObject({
      shape: [3, 4],
      dataBytes: 48,
      fortranOrder: false,
      dtype: { str: "<f4", object: false },
    });
    const s = await readNpyHeader(new BufferSource(sample("numpy/structured.npy")));
    expect(s.dtype.itemsize).toBe(20);
    expect((await readNpyHeader(new BufferSource(sample("numpy/object.npy")))).dtype.object).toBe(true);
    expect((await readNpyHeader(new BufferSource(sample("numpy/fortran.npy")))).fortranOrder).toBe(true);
  });

  it("rejects what numpy.lib.format rejects", async () => {
    const bad = async (data: Uint8Array) => readNpyHeader(new BufferSource(data));
    await expect(bad(bytes("NOTNUMPY!!!!"))).rejects.toThrow(/bad magic/);
    await expect(bad(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1,)}", undefined, 4))).rejects.toThrow(
      /version 4/,
    );
    await expect(bad(npy("{'descr': '<f8', 'shape': (1,)}"))).rejects.toThrow(/keys/);
    await expect(bad(npy("{'descr': '<f8', 'fortran_order': 0, 'shape': (1,)}"))).rejects.toThrow(/fortran_order/);
    await expect(bad(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (-1,)}"))).rejects.toThrow(/shape/);
    await expect(bad(npy("{'descr': 'zz', 'fortran_order': False, 'shape': (1,)}"))).rejects.toThrow(/descr/);
    await expect(bad(npy("{'descr': None, 'fortran_order': False, 'shape': (1,)}"))).rejects.toThrow(/descr/);
    await expect(
      bad(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1,)}").subarray(0, 30)),
    ).rejects.toMatchObject({ code: "TRUNCATED" });
  });
});

describe("numpyAnalyzer", () => {
  it("reports truncated data and analyses trailing bytes", async () => {
    const short = fakeContext(
      npy("{'descr': '<f8', 'fortran_order': False, 'shape': (4,)}", new Uint8Array(8)),
      "numpy",
    );
    await numpyAnalyzer.analyze(short.ctx);
    expect(short.findings.map((f) => f.ruleId)).toEqual(["numpy/malformed"]);
    const long = fakeContext(
      npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1,)}", bytes(new Uint8Array(8), "cos\nsystem\n.")),
      "numpy",
    );
    await numpyAnalyzer.analyze(long.ctx);
    expect(long.findings.map((f) => f.ruleId)).toEqual(["numpy/trailing-data"]);
    expect(long.members).toHaveLength(1);
    expect(long.facts.parameterCount).toBe(1);
  });

  it("analyses the pickle of object arrays", async () => {
    const r = fakeContext(sample("malicious/numpy_object_payload.npy"), "numpy");
    await numpyAnalyzer.analyze(r.ctx);
    expect(r.findings.map((f) => f.ruleId)).toEqual(["numpy/object-array", "pickle/dangerous-global"]);
    expect(r.findings[1]?.evidence?.callee).toBe("posix.system");
  });
});
