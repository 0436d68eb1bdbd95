import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BufferSource } from "../../../src/core/byte-source.js";
import { detectPaddleProgram } from "../../../src/formats/paddle/index.js";
import { type PaddleOp, readPaddleProgram } from "../../../src/formats/paddle/reader.js";
import { sniff } from "../../../src/registry/catalog.js";
import { lfield, vfield } from "../../helpers/protobuf.js";
import { ruleIds, SAMPLES, scanOne } from "../../helpers/scan.js";

// Messages with the field numbers of Paddle's framework.proto.
const attrInt = (name: string, i: number) => [...lfield(1, name), ...vfield(2, 0), ...vfield(3, i)];
const attrStr = (name: string, s: string) => [...lfield(1, name), ...vfield(2, 2), ...lfield(5, s)];
const op = (type: string | undefined, attrs: number[][] = []) => [
  ...lfield(1, [...lfield(1, "X"), ...lfield(2, "x")]),
  ...(type === undefined ? [] : lfield(3, type)),
  ...attrs.flatMap((a) => lfield(4, a)),
];
const block = (idx: number, parent: number, ops: number[][]) => [
  ...vfield(1, idx),
  ...vfield(2, parent),
  ...lfield(3, [...lfield(1, "x"), ...lfield(2, vfield(1, 7))]),
  ...ops.flatMap((o) => lfield(4, o)),
];
const program = (...blocks: number[][]) =>
  new Uint8Array([...blocks.flatMap((b) => lfield(1, b)), ...lfield(4, vfield(1, 2006000))]);

const sniffAs = (bytes: Uint8Array, name: string) =>
  sniff({ head: bytes, tail: bytes, size: bytes.length, name })[0]?.format;

describe("detection", () => {
  const prog = program(block(0, -1, [op("relu")]));

  it("recognises a ProgramDesc by its global block, whatever the name", () => {
    expect(detectPaddleProgram({ head: prog, tail: prog, size: prog.length, name: "x.bin" })?.format).toBe(
      "paddle-program",
    );
    expect(sniffAs(prog, "__model__")).toBe("paddle-program");
    expect(sniffAs(prog, "inference.pdmodel")).toBe("paddle-program");
  });

  it("a first block that is not the global one is a program too when it holds vars or ops", () => {
    // Paddle does not check block 0's parent_idx: naming another parent must not hide the program.
    const sub = program(block(0, 3, [op("relu")]));
    expect(sniffAs(sub, "x.pdmodel")).toBe("paddle-program");
    expect(sniffAs(sub, "x.bin")).toBe("paddle-program");
    // without vars or ops, two small varints are too little to go on without the name
    const bare = new Uint8Array(lfield(1, [...vfield(1, 0), ...vfield(2, 3)]));
    expect(sniffAs(bare, "x.pdmodel")).toBe("paddle-program");
    expect(sniffAs(bare, "x.bin")).not.toBe("paddle-program");
  });

  it("leaves ONNX and SavedModel decisions alone", () => {
    const onnx = new Uint8Array([...vfield(1, 8), ...lfield(2, "pytorch"), ...lfield(7, lfield(1, lfield(4, "Relu")))]);
    expect(sniffAs(onnx, "model.onnx")).toBe("onnx");
    expect(sniffAs(onnx, "model.pdmodel")).not.toBe("paddle-program");
    const graphDef = new Uint8Array(lfield(1, [...lfield(1, "node"), ...lfield(2, "Const")]));
    expect(sniffAs(graphDef, "saved_model.pb")).toBe("tf-savedmodel");
  });
});

describe("readPaddleProgram", () => {
  it("reads every operator of every block with its attributes", async () => {
    const ops: PaddleOp[] = [];
    const prog = program(
      block(0, -1, [
        op("feed"),
        op("py_func", [attrInt("forward_callable_id", 7)]),
        op("save", [attrStr("file_path", "/tmp/x")]),
      ]),
      block(1, 0, [op("relu")]),
    );
    const result = await readPaddleProgram(new BufferSource(prog), { maxFields: 10_000 }, (o) => ops.push(o));
    expect(result.blocks).toBe(2);
    expect(result.opCount).toBe(4);
    expect(result.version).toBe(2006000);
    expect(ops.map((o) => [o.types[0], o.block])).toEqual([
      ["feed", 0],
      ["py_func", 0],
      ["save", 0],
      ["relu", 1],
    ]);
    expect(ops[1]?.attrs.get("forward_callable_id")).toBe(7);
    expect(ops[2]?.attrs.get("file_path")).toBe("/tmp/x");
  });

  it("notes operators without a type and rejects broken wire data with typed errors", async () => {
    const missing = await readPaddleProgram(
      new BufferSource(program(block(0, -1, [op(undefined)]))),
      { maxFields: 100 },
      () => {},
    );
    expect(missing.missingRequired.map((m) => m.what)).toEqual(["an operator without a type"]);
    const prog = program(block(0, -1, [op("relu")]));
    await expect(
      readPaddleProgram(new BufferSource(prog.subarray(0, prog.length - 9)), { maxFields: 100 }, () => {}),
    ).rejects.toMatchObject({ code: expect.stringMatching(/TRUNCATED|MALFORMED/) });
    await expect(readPaddleProgram(new BufferSource(prog), { maxFields: 3 }, () => {})).rejects.toMatchObject({
      code: "BUDGET_EXCEEDED",
    });
  });
});

describe("Paddle programs", () => {
  it("the benign sample is clean with its operators as facts", async () => {
    const file = await scanOne(
      new Uint8Array(readFileSync(join(SAMPLES, "paddle/benign/linear.pdmodel"))),
      "linear.pdmodel",
    );
    expect(file.format).toBe("paddle-program");
    expect(file.verdict).toBe("clean");
    expect(file.facts?.["paddle.opCount"]).toBe(6);
    expect(file.facts?.["paddle.opTypes"]).toContain("matmul_v2");
  });

  it("py_func in a sub-block is critical", async () => {
    const prog = program(
      block(0, -1, [op("while")]),
      block(1, 0, [op("py_func", [attrInt("forward_callable_id", 0)])]),
    );
    const file = await scanOne(prog, "m.pdmodel");
    expect(file.verdict).toBe("malicious");
    const finding = file.findings.find((f) => f.ruleId === "paddle/py-func");
    expect(finding?.severity).toBe("critical");
    expect(finding?.evidence?.block).toBe(1);
  });

  it("I/O operators are medium, unknown operators low and aggregated by type", async () => {
    const prog = program(
      block(0, -1, [op("load_combine", [attrStr("file_path", "/etc/x")]), op("my_op"), op("my_op"), op("relu")]),
    );
    const file = await scanOne(prog, "m.pdmodel");
    expect(file.verdict).toBe("suspicious");
    expect(file.findings.find((f) => f.ruleId === "paddle/io-op")?.evidence?.filePath).toBe("/etc/x");
    const unknown = file.findings.filter((f) => f.ruleId === "paddle/unknown-op");
    expect(unknown.map((f) => f.evidence?.count)).toEqual([2]);
  });

  it("a py_func before a break is still reported; the file is invalid at least", async () => {
    const prog = program(block(0, -1, [op("py_func"), op("relu"), op("relu")]));
    const cut = prog.subarray(0, prog.length - 12);
    const file = await scanOne(cut, "m.pdmodel");
    expect(ruleIds(file)).toContain("paddle/malformed");
    expect(["invalid", "malicious"]).toContain(file.verdict);
  });

  it("an operator without a type is malformed (invalid)", async () => {
    const file = await scanOne(program(block(0, -1, [op(undefined)])), "m.pdmodel");
    expect(file.verdict).toBe("invalid");
    expect(ruleIds(file)).toContain("paddle/malformed");
  });

  it("a .pdmodel that is not a program is invalid", async () => {
    const file = await scanOne(new TextEncoder().encode("not a program"), "m.pdmodel");
    expect(file.verdict).toBe("invalid");
    expect(ruleIds(file)).toContain("format/claim-unmet");
  });
});
