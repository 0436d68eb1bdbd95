/**
 * CNTK v2 models (`CNTK.proto` Dictionary) and legacy v1 headers: detection by the Dictionary's
 * map entries in any field order, the user-defined functions `cntk.load_model` rebuilds by running
 * code (Python UDFs, their exec string, native UDFs), and malformed dictionaries.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sniff } from "../../../src/registry/catalog.js";
import { lfield, vfield } from "../../helpers/protobuf.js";
import { ruleIds, SAMPLES, scanOne } from "../../helpers/scan.js";

const STRING = 6;
const SIZE_T = 3;
const BOOL = 1;
const VECTOR = 9;
const DICT = 10;

type Value = string | number | boolean | Value[] | { [k: string]: Value };

/** A DictionaryValue, fields in CNTK's order (or reversed). */
function dv(v: Value, reversed = false): number[] {
  let parts: number[][];
  if (typeof v === "string") parts = [vfield(1, 1), vfield(2, STRING), lfield(8, v)];
  else if (typeof v === "boolean") parts = [vfield(1, 1), vfield(2, BOOL), vfield(3, v ? 1 : 0)];
  else if (typeof v === "number") parts = [vfield(1, 1), vfield(2, SIZE_T), vfield(5, v)];
  else if (Array.isArray(v))
    parts = [
      vfield(1, 1),
      vfield(2, VECTOR),
      lfield(
        11,
        v.flatMap((x) => lfield(1, dv(x))),
      ),
    ];
  else parts = [vfield(1, 1), vfield(2, DICT), lfield(12, dict(v, reversed))];
  return (reversed ? parts.reverse() : parts).flat();
}

/** A Dictionary (version 1, then its map entries; reversed: value before key, version last). */
function dict(d: { [k: string]: Value }, reversed = false): number[] {
  const entries = Object.entries(d).map(([k, v]) =>
    reversed ? [...lfield(2, dv(v, true)), ...lfield(1, k)] : [...lfield(1, k), ...lfield(2, dv(v))],
  );
  const body = entries.flatMap((e) => lfield(2, e));
  return reversed ? [...body, ...vfield(1, 1)] : [...vfield(1, 1), ...body];
}

const primitive = (op: number, uid: string, inputs: string[]) => ({
  version: 1,
  type: "PrimitiveFunction",
  op,
  uid,
  inputs,
  attributes: {},
});

const graph = (extra: Value[] = [], root = "ReLU8") => ({
  version: 1,
  type: "CompositeFunction",
  root,
  uid: "CompositeFunction12",
  inputs: [{ version: 1, type: "Variable", uid: "Input3", kind: 0, name: "features" }],
  primitive_functions: [primitive(31, "Times6", ["W", "Input3"]), primitive(3, "ReLU8", ["Times6_Output_0"]), ...extra],
  state: {},
});

const pythonUdf = (module: Value, cls: Value, extra: { [k: string]: Value } = {}) => ({
  version: 1,
  type: "UserDefinedFunction",
  uid: "UserDefinedFunction9",
  name: "udf",
  inputs: ["ReLU8_Output_0"],
  native: false,
  user_defined_state: { class: cls, module, op_name: "MyOp", state: {}, version: 1 },
  ...extra,
});

const bytes = (d: { [k: string]: Value }, reversed = false) => Uint8Array.from(dict(d, reversed));
const scan = (d: { [k: string]: Value }, name = "model.model", reversed = false) => scanOne(bytes(d, reversed), name);
const sniffAs = (b: Uint8Array, name: string) => sniff({ head: b, tail: b, size: b.length, name }).map((d) => d.format);

describe("CNTK detection", () => {
  it("recognises a CompositeFunction dictionary whatever the name and the field order", () => {
    for (const reversed of [false, true]) {
      const b = bytes(graph(), reversed);
      expect(sniffAs(b, "model.model")[0]).toBe("cntk");
      expect(sniffAs(b, "weights.bin")[0]).toBe("cntk");
    }
  });

  it("takes one known entry only under a CNTK name", () => {
    const one = bytes({ version: 1 });
    expect(sniffAs(one, "x.dnn")[0]).toBe("cntk");
    expect(sniffAs(one, "x.bin")[0]).not.toBe("cntk");
  });

  it("recognises the legacy marker", () => {
    const legacy = Uint8Array.from([...Buffer.from("BCN\0BVersion\0", "utf16le"), 1, 2, 3, 4]);
    expect(sniffAs(legacy, "x.bin")[0]).toBe("cntk");
  });

  it("leaves other protobuf models to their detectors", () => {
    for (const [dir, want] of [
      ["onnx", "onnx"],
      ["paddle", "paddle-program"],
    ] as const) {
      for (const file of readdirSync(join(SAMPLES, dir)).filter((f) => /\.(onnx|pdmodel)$/.test(f))) {
        const b = new Uint8Array(readFileSync(join(SAMPLES, dir, file)));
        expect(sniffAs(b.subarray(0, 65536), file)[0], file).toBe(want);
      }
    }
  });
});

describe("CNTK user-defined functions", () => {
  it("a plain graph of primitives is clean", async () => {
    const file = await scan(graph());
    expect(file.format).toBe("cntk");
    expect(file.verdict).toBe("clean");
  });

  it("a Python UDF is high: the loader imports its module", async () => {
    const file = await scan(graph([pythonUdf("my_udfs", "MyUdf")], "UserDefinedFunction9"));
    expect(ruleIds(file)).toEqual(["cntk/python-udf"]);
    expect(file.verdict).toBe("malicious");
    expect(file.findings[0]?.evidence).toMatchObject({ module: "my_udfs", class: "MyUdf" });
  });

  it("module or class strings that are not identifiers are code in the exec string (critical)", async () => {
    for (const [module, cls] of [
      ["os import system; system('id'); from os", "path"],
      ["os", "system; import os; os.system('id')"],
      ["a.b\nimport os", "X"],
      ["os", "path.sep"],
    ]) {
      const file = await scan(graph([pythonUdf(module!, cls!)], "UserDefinedFunction9"), "m.dnn", true);
      expect(ruleIds(file), `${module} ${cls}`).toContain("cntk/udf-injection");
      expect(file.verdict).toBe("malicious");
    }
  });

  it("any function carrying user_defined_state is a UDF, wherever it is nested", async () => {
    const hidden = {
      ...primitive(57, "Block10", ["ReLU8_Output_0"]),
      attributes: { inner: { ...pythonUdf("evil_mod", "E"), type: "UserFunction" } },
    };
    const file = await scan(graph([hidden]));
    expect(ruleIds(file)).toContain("cntk/python-udf");
  });

  it("a native UDF is high: CNTK loads the library it names", async () => {
    const native = pythonUdf("x", "y", {
      native: true,
      user_defined_state: {
        user_defined_state: {},
        module: "./evil.so",
        deserialize_method: "Create",
        op: "NativeOp",
        type: "NativeUserDefinedFunction",
      },
    });
    const file = await scan(graph([native], "UserDefinedFunction9"));
    expect(ruleIds(file)).toEqual(["cntk/native-udf"]);
    expect(file.findings[0]?.evidence).toMatchObject({ module: "./evil.so", deserializeMethod: "Create" });
  });
});

describe("malformed CNTK models", () => {
  it("a cut dictionary is invalid, and what was read before the cut still counts", async () => {
    const whole = bytes(graph([pythonUdf("os import system; from os", "X")], "UserDefinedFunction9"));
    // a broken tag (wire type 7) after the entries: the UDF before it is still judged
    const broken1 = await scanOne(Uint8Array.from([...whole, 0x0f]), "m.model");
    expect(ruleIds(broken1)).toEqual(["cntk/malformed", "cntk/udf-injection"]);
    const cut = await scanOne(whole.subarray(0, whole.length - 40), "m.model");
    expect(ruleIds(cut)).toContain("cntk/malformed");
    const plain = bytes(graph());
    const broken = await scanOne(plain.subarray(0, Math.floor(plain.length / 2)), "m.model");
    expect(broken.verdict).toBe("invalid");
  });

  it("a dictionary that is no CompositeFunction graph is invalid", async () => {
    const file = await scan({ version: 1, type: "PrimitiveFunction", uid: "P", name: "x" });
    expect(file.verdict).toBe("invalid");
    expect(ruleIds(file)).toContain("cntk/malformed");
  });

  it("a CNTK prefix followed by text (ModelAudit's CNTK test shape) is invalid, never clean", async () => {
    const prefix = [...vfield(1, 1), ...lfield(2, [...lfield(1, "version"), ...lfield(2, dv(2))])];
    const text = Buffer.from(" native_user_function loadlibrary C:\\temp\\evil.dll exec(payload) ");
    const file = await scanOne(Uint8Array.from([...prefix, ...text]), "malicious.dnn");
    expect(file.format).toBe("cntk");
    expect(file.verdict).toBe("invalid");
  });

  it("a legacy model is reported as not analysed", async () => {
    const legacy = Uint8Array.from([...Buffer.from("BCN\0BVersion\0", "utf16le"), 7, 0, 0, 0]);
    const file = await scanOne(legacy, "old.dnn");
    expect(ruleIds(file)).toEqual(["cntk/legacy-model"]);
    expect(file.verdict).toBe("suspicious");
  });
});
