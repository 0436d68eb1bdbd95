import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { blobPathProblem, MAX_MIL_BLOCK_NESTING } from "../../../src/formats/coreml/mil.js";
import { readCoremlPartial } from "../../../src/formats/coreml/reader.js";
import { BufferSource } from "../../../src/sources/byte-source.js";
import { ruleIds, SAMPLES, scanOne } from "../../helpers/scan.js";

// A minimal protobuf writer (field numbers from coremltools' Model.proto / MIL.proto).
const varint = (n: number): number[] => {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
};
const enc = new TextEncoder();
const bytes = (field: number, data: Uint8Array | string): Uint8Array => {
  const d = typeof data === "string" ? enc.encode(data) : data;
  return new Uint8Array([...varint(field * 8 + 2), ...varint(d.length), ...d]);
};
const num = (field: number, n: number) => new Uint8Array([...varint(field * 8), ...varint(n)]);
const cat = (...parts: Uint8Array[]) => new Uint8Array(parts.flatMap((p) => [...p]));
const entry = (field: number, key: string, value: Uint8Array) => bytes(field, cat(bytes(1, key), bytes(2, value)));
const stringValue = (s: string) => bytes(3, bytes(1, bytes(4, bytes(1, s))));
const blobValue = (file: string) => bytes(5, cat(bytes(1, file), num(2, 64)));
const op = (type: string, name: string, attributes: Array<[string, Uint8Array]> = [], blocks: Uint8Array[] = []) =>
  cat(
    bytes(1, type),
    entry(5, "name", stringValue(name)),
    ...attributes.map(([k, v]) => entry(5, k, v)),
    ...blocks.map((b) => bytes(4, b)),
  );
const block = (...ops: Uint8Array[]) => cat(...ops.map((o) => bytes(3, o)));
const fn = (opset: string, b: Uint8Array) => cat(bytes(2, opset), entry(3, opset, b));
const program = (...fns: Array<[string, Uint8Array]>) => cat(num(1, 1), ...fns.map(([n, f]) => entry(2, n, f)));
const mlmodel = (p: Uint8Array) => cat(num(1, 6), bytes(502, p));

const sample = (name: string) => new Uint8Array(readFileSync(join(SAMPLES, "coreml", name)));
const read = async (b: Uint8Array) => readCoremlPartial(new BufferSource(b));

describe("Core ML ML Programs", () => {
  it("the benign program is clean, with its inventory", async () => {
    const { summary, error } = await read(sample("ml_program.mlmodel"));
    expect(error).toBeUndefined();
    expect(summary.modelType).toBe("mlProgram");
    expect(summary.milPrograms).toBe(1);
    expect(summary.milOperations).toBe(4);
    expect(summary.milFunctions).toEqual([{ name: "main", opset: "CoreML5", operations: 4 }]);
    expect(Object.fromEntries(summary.milOpTypes)).toEqual({ const: 2, linear: 1, relu: 1 });
    expect([...summary.milBlobFiles]).toEqual([["@model_path/weights/weight.bin", 1]]);
    const file = await scanOne(sample("ml_program.mlmodel"), "model.mlmodel");
    expect(file.verdict).toBe("clean");
    expect(file.facts).toMatchObject({
      "coreml.modelType": "mlProgram",
      "coreml.mil.version": 1,
      "coreml.mil.operations": 4,
      "coreml.mil.functions": [{ name: "main", opset: "CoreML5", operations: 4 }],
      "coreml.mil.weightFiles": ["@model_path/weights/weight.bin"],
    });
  });

  it("an op outside the MIL op set is suspicious, named in the evidence", async () => {
    const file = await scanOne(sample("ml_program_unknown_op.mlmodel"), "model.mlmodel");
    expect(file.verdict).toBe("suspicious");
    expect(ruleIds(file)).toEqual(["coreml/unknown-op"]);
    expect(file.findings[0]?.evidence).toMatchObject({
      opType: "py_func_echo",
      count: 1,
      firstOp: "act",
      pythonLike: true,
    });
  });

  it("a weight file outside the package is malicious", async () => {
    const file = await scanOne(sample("ml_program_blob_traversal.mlmodel"), "model.mlmodel");
    expect(file.verdict).toBe("malicious");
    expect(ruleIds(file)).toEqual(["coreml/blob-path-traversal"]);
    expect(file.findings[0]?.evidence).toMatchObject({
      file: "@model_path/../../../../etc/passwd",
      opType: "const",
      op: "W",
    });
  });

  it("classifies blob paths", () => {
    expect(blobPathProblem("@model_path/weights/weight.bin")).toBeUndefined();
    expect(blobPathProblem("/etc/passwd")?.kind).toBe("traversal");
    expect(blobPathProblem("@model_path//etc/passwd")?.kind).toBe("traversal");
    expect(blobPathProblem("@model_path/weights/..\\..\\x")?.kind).toBe("traversal");
    expect(blobPathProblem("@model_path/C:/x")?.kind).toBe("traversal");
    expect(blobPathProblem("@model_path/~/.ssh/id_rsa")?.kind).toBe("traversal");
    expect(blobPathProblem("weights/weight.bin")?.kind).toBe("unanchored");
    expect(blobPathProblem("@model_path/")?.kind).toBe("unanchored");
    expect(blobPathProblem("@model_path/weights/..weight.bin")).toBeUndefined();
  });

  it("unanchored weight files are medium; attribute order does not hide the op", async () => {
    // the op's name and type come after its value in the wire
    const late = cat(entry(5, "val", bytes(5, cat(bytes(1, "weights.bin")))), bytes(1, "const"));
    const file = await scanOne(mlmodel(program(["main", fn("CoreML6", block(late))])), "m.mlmodel");
    expect(file.verdict).toBe("suspicious");
    const f = file.findings.find((x) => x.ruleId === "coreml/blob-path-traversal");
    expect(f?.severity).toBe("medium");
    expect(f?.evidence).toMatchObject({ opType: "const", reason: "not anchored at @model_path" });
  });

  it("walks nested control-flow blocks, every function, custom ops and blobs in nested values", async () => {
    const inner = block(op("mystery_op", "deep"), op("relu", "r"));
    const cond = op("cond", "c", [], [inner, block(op("custom_layer", "cl", [["class_name", stringValue("EchoOp")]]))]);
    // a blob reference inside a list value of a program attribute
    const listed = bytes(3, bytes(3, bytes(1, blobValue("/dev/zero"))));
    const p = cat(
      program(["main", fn("CoreML7", block(cond))], ["second", fn("CoreML7", block(op("add", "a"), op("mul", "m")))]),
      entry(4, "extra", listed),
    );
    const { summary, error } = await read(mlmodel(p));
    expect(error).toBeUndefined();
    expect(summary.milOperations).toBe(6);
    expect(summary.milFunctions).toEqual([
      { name: "main", opset: "CoreML7", operations: 4 },
      { name: "second", opset: "CoreML7", operations: 2 },
    ]);
    const file = await scanOne(mlmodel(p), "m.mlmodel");
    expect(ruleIds(file)).toEqual(["coreml/blob-path-traversal", "coreml/custom-layer", "coreml/unknown-op"]);
    expect(file.findings.find((f) => f.ruleId === "coreml/custom-layer")?.evidence).toMatchObject({
      className: "EchoOp",
      layer: "cl",
    });
    expect(file.findings.find((f) => f.ruleId === "coreml/unknown-op")?.evidence).toMatchObject({
      opType: "mystery_op",
      pythonLike: false,
    });
    expect(file.verdict).toBe("malicious");
  });

  it("block nesting has a budget; broken programs are invalid", async () => {
    let b = block(op("relu", "r"));
    for (let i = 0; i < MAX_MIL_BLOCK_NESTING + 2; i++) b = block(op("cond", `c${i}`, [], [b]));
    const deep = await scanOne(mlmodel(program(["main", fn("CoreML5", b)])), "m.mlmodel");
    expect(deep.verdict).toBe("invalid");
    const { error } = await read(mlmodel(program(["main", fn("CoreML5", b)])));
    expect(error?.code).toBe("BUDGET_EXCEEDED");
    expect(error?.message).toMatch(/ML Program blocks nested deeper than 16/);
    // within the budget is fine
    let ok = block(op("relu", "r"));
    for (let i = 0; i < MAX_MIL_BLOCK_NESTING - 2; i++) ok = block(op("cond", `c${i}`, [], [ok]));
    expect((await read(mlmodel(program(["main", fn("CoreML5", ok)])))).summary.milOperations).toBe(
      MAX_MIL_BLOCK_NESTING - 1,
    );
    const many = mlmodel(program(["main", fn("CoreML5", block(...Array.from({ length: 50 }, () => op("relu", "r"))))]));
    const within = await readCoremlPartial(new BufferSource(many), { maxMilOperations: 50 });
    expect(within.error).toBeUndefined();
    const over = await readCoremlPartial(new BufferSource(many), { maxMilOperations: 49 });
    expect(over.error?.message).toMatch(/more than 49 ML Program operations/);
    const good = sample("ml_program.mlmodel");
    const cut = await scanOne(good.subarray(0, good.length - 20), "m.mlmodel");
    expect(cut.verdict).toBe("invalid");
    for (let at = 0; at < good.length; at += 3) {
      const bad = good.slice();
      bad[at] = 0xff;
      const r = await read(bad);
      if (r.error !== undefined) expect(["MALFORMED", "TRUNCATED", "BUDGET_EXCEEDED"]).toContain(r.error.code);
    }
  });
});
