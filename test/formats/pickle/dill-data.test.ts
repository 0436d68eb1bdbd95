/**
 * dill's data helpers: `_create_array(f, args, state, npdict)` is judged as a call of `f` followed
 * by `__setstate__(state)` and `__dict__.update(npdict)`; `_load_type(name)` resolves a literal name
 * through dill's fixed type table. Real dill data pickles (samples/pandas-statsmodels/dill) are
 * clean; any other callee, type name or dill._dill helper stays critical.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

import { ruleIds, SAMPLES, scanOne } from "../../helpers/scan.js";
import { analyze, bytes, callees, op, rules } from "./helpers.js";

const P3 = op.proto(3);
const NONE = [0x4e];
const int1 = (n: number) => [0x4b, n];
/** `MARK items TUPLE`. */
const tuple = (...items: (Uint8Array | number[])[]) => bytes([0x28], ...items, [0x74]);
/** `fn(*args)` with REDUCE. */
const call = (fn: Uint8Array, ...args: (Uint8Array | number[])[]) => bytes(fn, tuple(...args), [0x52]);
const pickleOf = (body: Uint8Array) => bytes(P3, body, op.stop);

const CREATE_ARRAY = op.global("dill._dill", "_create_array");
const LOAD_TYPE = op.global("dill._dill", "_load_type");
const RECONSTRUCT = op.global("numpy.core.multiarray", "_reconstruct");
/** `(numpy.ndarray, (0,), b'b')`, what ndarray.__reduce__ passes to _reconstruct. */
const ARRAY_ARGS = tuple(op.global("numpy", "ndarray"), tuple(int1(0)), op.bb(new Uint8Array([0x62])));
/** `{k: v}`. */
const dict = (k: string, v: Uint8Array | number[]) => bytes([0x7d, 0x28], op.bu(k), v, [0x75]);

const DIR = join(SAMPLES, "pandas-statsmodels", "dill");

describe("dill._dill._create_array", () => {
  it.each(["array.dill.pkl", "dict.dill.p4.pkl", "frame.dill.pkl"])("real %s is clean", async (name) => {
    const file = await scanOne(new Uint8Array(readFileSync(join(DIR, name))), name);
    expect(file.verdict, JSON.stringify(file.findings.map((f) => f.message))).toBe("clean");
  });

  it("is judged as a call of its first argument", async () => {
    const a = await analyze(pickleOf(call(CREATE_ARRAY, RECONSTRUCT, ARRAY_ARGS, NONE, NONE)));
    expect(rules(a)).toEqual([]);
    const evil = await analyze(pickleOf(call(CREATE_ARRAY, op.global("os", "system"), tuple(op.bu("id")), NONE, NONE)));
    expect(rules(evil)).toContain("pickle/dangerous-global");
    expect(callees(evil)).toEqual(expect.arrayContaining(["dill._dill._create_array"]));
  });

  it("stays critical when its callee may only be instantiated, or is not a name", async () => {
    const newOnly = await analyze(pickleOf(call(CREATE_ARRAY, op.global("numpy", "ndarray"), tuple(), NONE, NONE)));
    expect(newOnly.findings.some((f) => f.evidence?.callee === "dill._dill._create_array")).toBe(true);
    // the callee computed by a call (numpy's _reconstruct result): not a name
    const computed = call(RECONSTRUCT, op.global("numpy", "ndarray"), tuple(int1(0)), op.bb(new Uint8Array([0x62])));
    const dynamic = await analyze(pickleOf(call(CREATE_ARRAY, computed, tuple(), NONE, NONE)));
    const f = dynamic.findings.find((x) => x.evidence?.callee === "dill._dill._create_array");
    expect(f?.severity).toBe("critical");
  });

  it("applies npdict as instance state: a literal is inert, a planted hook is flagged", async () => {
    const doc = await analyze(pickleOf(call(CREATE_ARRAY, RECONSTRUCT, ARRAY_ARGS, NONE, dict("__doc__", op.bu("x")))));
    expect(rules(doc)).toEqual([]);
    const hook = dict("__setstate__", op.global("builtins", "len"));
    const planted = await analyze(pickleOf(call(CREATE_ARRAY, RECONSTRUCT, ARRAY_ARGS, NONE, hook)));
    expect(rules(planted)).toContain("pickle/monkeypatch");
  });
});

describe("dill._dill._load_type", () => {
  it("resolves dill's fixed type names: slice is allowed", async () => {
    const a = await analyze(pickleOf(call(call(LOAD_TYPE, op.bu("slice")), int1(0), int1(1), NONE)));
    expect(rules(a)).toEqual([]);
  });

  it("keeps code and function types denied", async () => {
    for (const name of ["CodeType", "FunctionType", "LambdaType", "FileType", "MethodType"]) {
      const a = await analyze(pickleOf(call(LOAD_TYPE, op.bu(name))));
      const f = a.findings.find((x) => x.evidence?.callee === "dill._dill._load_type");
      expect(f?.severity, name).toBe("critical");
      expect(rules(a), name).toContain("pickle/dangerous-global");
    }
  });

  it("stays critical for a computed name or one outside the table", async () => {
    const computed = call(op.global("builtins", "str"), op.bu("slice"));
    for (const arg of [computed, op.bu("NoSuchType"), op.bu("__builtins__")]) {
      const a = await analyze(pickleOf(call(LOAD_TYPE, arg)));
      const f = a.findings.find((x) => x.evidence?.callee === "dill._dill._load_type");
      expect(f?.severity).toBe("critical");
    }
  });
});

describe("the rest of dill._dill", () => {
  it("stays denied", async () => {
    for (const name of ["_create_function", "_create_code", "_create_type", "_import_module", "_get_attr", "loads"]) {
      const a = await analyze(pickleOf(call(op.global("dill._dill", name), op.bu("x"))));
      expect(a.findings.find((x) => x.evidence?.callee === `dill._dill.${name}`)?.severity, name).toBe("critical");
    }
  });

  it("a real dill lambda stays malicious", async () => {
    const file = await scanOne(new Uint8Array(readFileSync(join(DIR, "lambda.dill.pkl"))), "lambda.dill.pkl");
    expect(file.verdict).toBe("malicious");
    expect(ruleIds(file)).toContain("pickle/dangerous-global");
  });
});
