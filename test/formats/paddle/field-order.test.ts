/**
 * Paddle programs whose protobuf fields come in another order than Paddle writes them: protobuf
 * parsers (Paddle's included) accept any order, so detection and analysis must too. Also the
 * legacy `__model__` name, read as a program whatever it holds.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BufferSource } from "../../../src/core/byte-source.js";
import { type PaddleOp, readPaddleProgram } from "../../../src/formats/paddle/reader.js";
import { sniff } from "../../../src/registry/catalog.js";
import { lfield, vfield } from "../../helpers/protobuf.js";
import { ruleIds, SAMPLES, scanOne } from "../../helpers/scan.js";

const pyFunc = [
  ...lfield(3, "py_func"),
  ...lfield(4, [...lfield(1, "forward_callable_id"), ...vfield(2, 0), ...vfield(3, 7)]),
];
const relu = [...lfield(1, [...lfield(1, "X"), ...lfield(2, "x")]), ...lfield(3, "relu")];
const vars = lfield(3, [...lfield(1, "x"), ...lfield(2, vfield(1, 7))]);
const version = lfield(4, vfield(1, 2006000));
const bytes = (...parts: number[][]) => new Uint8Array(parts.flat());

/** The same block in Paddle's order and in another one. */
const standardBlock = [...vfield(1, 0), ...vfield(2, -1), ...vars, ...lfield(4, relu), ...lfield(4, pyFunc)];
const reorderedBlock = [...lfield(4, relu), ...lfield(4, pyFunc), ...vars, ...vfield(2, -1), ...vfield(1, 0)];

const sniffAs = (data: Uint8Array, name: string) =>
  sniff({ head: data, tail: data, size: data.length, name })[0]?.format;

describe("Paddle detection in any field order", () => {
  const programs = {
    "version first": bytes(version, lfield(1, standardBlock)),
    "parent_idx before idx, ops first": bytes(lfield(1, reorderedBlock), version),
    both: bytes(version, lfield(1, reorderedBlock)),
    "block 0 not global, with ops": bytes(lfield(1, [...vfield(1, 0), ...vfield(2, 0), ...lfield(4, pyFunc)])),
  };

  it.each(Object.entries(programs))("%s: a program under any name", (_, program) => {
    for (const name of ["x.bin", "inference.model", "__model__", "m.pdmodel"]) {
      expect(sniffAs(program, name), name).toBe("paddle-program");
    }
  });

  it.each(Object.entries(programs))("%s: py_func is critical", async (_, program) => {
    const file = await scanOne(program, "inference.model");
    expect(file.verdict).toBe("malicious");
    expect(ruleIds(file)).toContain("paddle/py-func");
  });

  it("under Paddle's names, an unknown top-level field before the blocks does not hide the program", async () => {
    const program = bytes(lfield(9, new Array(40).fill(0)), lfield(1, standardBlock), version);
    expect(sniffAs(program, "m.pdmodel")).toBe("paddle-program");
    expect(sniffAs(program, "__model__")).toBe("paddle-program");
    const file = await scanOne(program, "m.pdmodel");
    expect(file.verdict).toBe("malicious");
  });

  it("a block whose idx and parent_idx lie past the head is a program by its named var or typed op", async () => {
    const bigVars = lfield(3, [
      ...lfield(1, "x"),
      ...lfield(2, vfield(1, 7)),
      ...lfield(9, new Array(9000).fill(0x41)),
    ]);
    const program = bytes(lfield(1, [...bigVars, ...lfield(4, pyFunc), ...vfield(2, -1), ...vfield(1, 0)]));
    expect(sniffAs(program, "m.pdmodel")).toBe("paddle-program");
    expect(sniffAs(program, "inference.model")).toBe("paddle-program");
    expect((await scanOne(program, "inference.model")).verdict).toBe("malicious");
    const opsFirst = bytes(
      lfield(1, [
        ...lfield(4, [...pyFunc, ...lfield(9, new Array(9000).fill(0x41))]),
        ...vfield(1, 0),
        ...vfield(2, -1),
      ]),
    );
    expect(sniffAs(opsFirst, "x.bin")).toBe("paddle-program");
  });

  it("leaves other protobufs alone", () => {
    const onnx = bytes(vfield(1, 8), lfield(2, "pytorch"), lfield(7, lfield(1, lfield(4, "Relu"))));
    expect(sniffAs(onnx, "model.onnx")).toBe("onnx");
    expect(sniffAs(onnx, "__model__")).toBe("onnx");
    expect(sniffAs(onnx, "model.pdmodel")).not.toBe("paddle-program");
    const graphDef = bytes(lfield(1, [...lfield(1, "node"), ...lfield(2, "Const")]));
    expect(sniffAs(graphDef, "frozen.pb")).not.toBe("paddle-program");
    expect(sniffAs(graphDef, "m.pdmodel")).not.toBe("paddle-program");
    const piece = bytes(lfield(1, [...lfield(1, "▁the"), 0x15, 0, 0, 0x80, 0xbf]), lfield(2, "x"));
    expect(sniffAs(piece, "tokenizer.model")).not.toBe("paddle-program");
    // a small message {1: {1: 0, 2: 5}}: no vars, no ops, not the global block
    expect(sniffAs(bytes(lfield(1, [...vfield(1, 0), ...vfield(2, 5)])), "x.bin")).not.toBe("paddle-program");
  });
});

describe("__model__ (Paddle's legacy program name)", () => {
  it("is read as a program whatever it holds: text there is an invalid program, never unknown", async () => {
    const file = await scanOne(new TextEncoder().encode("this is not a ProgramDesc\n"), "model/__model__");
    expect(file.format).toBe("paddle-program");
    expect(file.verdict).toBe("invalid");
    expect(ruleIds(file)).toContain("paddle/malformed");
  });

  it("a benign program so named is clean", async () => {
    const file = await scanOne(
      bytes(version, lfield(1, [...vfield(2, -1), ...vfield(1, 0), ...vars, ...lfield(4, relu)])),
      "__model__",
    );
    expect(file.format).toBe("paddle-program");
    expect(file.verdict).toBe("clean");
  });
});

describe("the reader does not depend on field order", () => {
  const read = async (program: Uint8Array) => {
    const ops: PaddleOp[] = [];
    const result = await readPaddleProgram(new BufferSource(program), { maxFields: 10_000 }, (o) => ops.push(o));
    return { result, ops: ops.map((o) => ({ types: o.types, block: o.block, attrs: [...o.attrs] })) };
  };

  it("reads the same operators, blocks and version in both orders", async () => {
    const standard = await read(
      bytes(lfield(1, standardBlock), lfield(1, [...vfield(1, 1), ...vfield(2, 0), ...lfield(4, relu)]), version),
    );
    const reordered = await read(
      bytes(version, lfield(1, reorderedBlock), lfield(1, [...lfield(4, relu), ...vfield(2, 0), ...vfield(1, 1)])),
    );
    expect(reordered).toEqual(standard);
    expect(standard.result.missingRequired).toEqual([]);
    expect(standard.ops.map((o) => [o.types[0], o.block])).toEqual([
      ["relu", 0],
      ["py_func", 0],
      ["relu", 1],
    ]);
  });

  it("attribute fields in any order (value before name) are read", async () => {
    const attrFirst = [
      ...lfield(3, "py_func"),
      ...lfield(4, [...vfield(3, 7), ...vfield(2, 0), ...lfield(1, "forward_callable_id")]),
    ];
    const { ops } = await read(bytes(lfield(1, [...lfield(4, attrFirst), ...vfield(2, -1), ...vfield(1, 0)])));
    expect(ops[0]?.attrs).toEqual([["forward_callable_id", 7]]);
  });
});

describe("samples", () => {
  it("the field-order samples are judged as Paddle programs", async () => {
    const dir = join(SAMPLES, "graph-bypass", "paddle");
    for (const name of ["reordered.model", "reordered.pdmodel", "sub_parent.bin", "version_first/__model__"]) {
      const file = await scanOne(new Uint8Array(readFileSync(join(dir, name))), name.slice(name.lastIndexOf("/") + 1));
      expect(file.verdict, name).toBe("malicious");
      expect(ruleIds(file), name).toContain("paddle/py-func");
    }
  });
});
