import { readFileSync } from "node:fs";
import { join } from "node:path";
import { deflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { joblibAnalyzer, joblibCompression } from "../../../src/formats/joblib/analyzer.js";
import { SAMPLES } from "../../helpers/scan.js";
import { analyze, bytes, callees, fakeContext, op, rules } from "../pickle/helpers.js";

const sample = (p: string) => new Uint8Array(readFileSync(join(SAMPLES, "pickle", p)));

/** A joblib-style stream: a NumpyArrayWrapper of 2 float64 with 16-byte alignment, then `tail`. */
function wrapper(shape: Uint8Array, tail: Uint8Array, padding = 3): Uint8Array {
  const dtype = bytes(
    op.global("numpy", "dtype"),
    op.bu("f8"),
    [0x89, 0x88, 0x87, 0x52],
    "(K\x03",
    op.bu("<"),
    "NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb",
  );
  const state = bytes(
    "}(",
    op.bu("shape"),
    shape,
    op.bu("dtype"),
    dtype,
    op.bu("numpy_array_alignment_bytes"),
    "K\x10u",
  );
  return bytes(
    [0x80, 0x02],
    op.global("joblib.numpy_pickle", "NumpyArrayWrapper"),
    ")\x81",
    state,
    "b",
    [padding],
    new Uint8Array(padding).fill(0xff),
    new Float64Array([1.5, 2.5]).buffer instanceof ArrayBuffer
      ? new Uint8Array(new Float64Array([1.5, 2.5]).buffer)
      : [],
    tail,
  );
}

describe("joblibCompression", () => {
  it("detects what joblib detects", () => {
    expect(joblibCompression(sample("joblib/forest.joblib"))).toBe("none");
    for (const c of ["zlib", "gzip", "bz2", "lzma", "xz"] as const)
      expect(joblibCompression(sample(`joblib/forest_${c}.joblib`))).toBe(c);
    expect(joblibCompression(bytes("ZF0x1"))).toBe("zfile");
  });
});

describe("inline arrays", () => {
  it("skips array data (with its alignment padding) so later opcodes are seen", async () => {
    const a = await analyze(
      wrapper(bytes("K\x02\x85"), bytes("0", op.global("os", "system"), op.bu("echo"), op.call1, ".")),
    );
    expect(callees(a)).toEqual(["os.system"]);
    expect(a.facts["numpy.arrays"]).toBe(1);
  });

  it("reports an array it cannot size instead of misreading what follows", async () => {
    const a = await analyze(wrapper(bytes(op.global("builtins", "len"), "N\x85R\x85"), bytes("0.")));
    expect(rules(a)).toContain("joblib/array-layout");
    expect(a.invalid).toBe(true);
  });

  it("analyses object arrays stored as an inline pickle", async () => {
    const r = await analyze(sample("joblib/arrays.joblib"));
    expect(r.findings).toEqual([]);
    expect(r.facts["numpy.arrays"]).toBe(3);
    expect(callees(await analyze(sample("malicious/joblib_after_array.joblib")))).toEqual(["posix.system"]);
  });
});

describe("joblibAnalyzer", () => {
  it("reads plain, zlib, gzip, bz2, xz, lzma and ZF files; decodes lz4 frames (a truncated one is malformed)", async () => {
    const plain = fakeContext(sample("joblib/forest.joblib"), "joblib");
    await joblibAnalyzer.analyze(plain.ctx);
    expect(plain.findings).toEqual([]);
    expect(plain.facts["joblib.compression"]).toBe("none");
    const z = fakeContext(sample("malicious/joblib_zlib.joblib"), "joblib");
    await joblibAnalyzer.analyze(z.ctx);
    expect(z.findings.map((f) => f.evidence?.callee)).toContain("posix.system");
    const gz = fakeContext(sample("joblib/forest_gzip.joblib"), "joblib");
    await joblibAnalyzer.analyze(gz.ctx);
    expect(gz.findings).toEqual([]);
    const inner = bytes([0x80, 0x02], op.global("os", "system"), op.bu("echo"), op.call1, ".");
    const zf = fakeContext(bytes("ZF", "0x1f".padEnd(19, " "), deflateSync(inner)), "joblib");
    await joblibAnalyzer.analyze(zf.ctx);
    expect(zf.findings.map((f) => f.evidence?.callee)).toEqual(["os.system"]);
    for (const codec of ["bz2", "xz", "lzma"]) {
      const r = fakeContext(sample(`joblib/forest_${codec}.joblib`), "joblib");
      await joblibAnalyzer.analyze(r.ctx);
      expect(r.findings, codec).toEqual([]);
      expect(r.facts["sklearn.estimators"], codec).toEqual(
        expect.arrayContaining(["sklearn.ensemble._forest.RandomForestClassifier"]),
      );
    }
    const lz4 = fakeContext(bytes([0x04, 0x22, 0x4d, 0x18], "x"), "joblib");
    await joblibAnalyzer.analyze(lz4.ctx);
    expect(lz4.findings.map((f) => f.ruleId)).toEqual(["container/malformed-stream"]);
  });

  it("keeps what it found before a corrupt compressed stream", async () => {
    const inner = bytes([0x80, 0x02], op.global("os", "system"), op.bu("echo"), op.call1, op.bu("x".repeat(3000)), ".");
    const z = deflateSync(inner);
    const broken = bytes(z.subarray(0, z.length - 40), new Uint8Array(40).fill(0x55));
    const r = fakeContext(broken, "joblib");
    await joblibAnalyzer.analyze(r.ctx);
    expect(r.findings.map((f) => f.ruleId).sort()).toEqual(["pickle/dangerous-global", "pickle/malformed"]);
  });
});
