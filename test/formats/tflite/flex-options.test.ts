/**
 * Flex operators are judged by what their custom options name (the op the delegate builds and the
 * NodeDef's op), not only by the `custom_code` suffix: `FlexAddV2` can carry `WriteFile`.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ArrayBytes } from "../../../src/formats/flatbuffer/reader.js";
import { MAX_NODEDEF_FIELDS, readFlexKernel } from "../../../src/formats/tflite/flex.js";
import { ruleIds, SAMPLES, scanOne } from "../../helpers/scan.js";

const enc = new TextEncoder();
const lfield = (num: number, payload: number[] | string) => {
  const bytes = typeof payload === "string" ? [...enc.encode(payload)] : payload;
  return [(num << 3) | 2, bytes.length, ...bytes];
};
const le = (n: number, width: number) => Array.from({ length: width }, (_, i) => Math.floor(n / 256 ** i) % 256);
const STRING = 5;
const KEY = 4;
const VECTOR = 10;
const MAP = 9;
const code = (width: number) => ({ 1: 0, 2: 1, 4: 2, 8: 3 })[width] as number;

/** A FlexBuffer vector [name, nodeDef] with elements `width` bytes wide (element 0 a KEY when `key`). */
function flex(name: string, nodeDef: number[], width = 1, options: { key?: boolean; root?: number } = {}): Uint8Array {
  const buf: number[] = [];
  const pad = () => {
    while ((buf.length + width) % width !== 0) buf.push(0);
  };
  let s0: number;
  if (options.key === true) {
    s0 = buf.length;
    buf.push(...enc.encode(name), 0);
  } else {
    pad();
    buf.push(...le(name.length, width));
    s0 = buf.length;
    buf.push(...enc.encode(name), 0);
  }
  pad();
  buf.push(...le(nodeDef.length, width));
  const s1 = buf.length;
  buf.push(...nodeDef, 0);
  pad();
  buf.push(...le(2, width));
  const vec = buf.length;
  buf.push(...le(vec - s0, width), ...le(vec + width - s1, width));
  buf.push(
    ((options.key === true ? KEY : STRING) << 2) | (options.key === true ? 0 : code(width)),
    (STRING << 2) | code(width),
  );
  const root = buf.length;
  buf.push(...le(root - vec, width), ((options.root ?? VECTOR) << 2) | code(width), width);
  return new Uint8Array(buf);
}
const nodeDef = (op: string, extra: number[] = []) => [...lfield(1, "node"), ...lfield(2, op), ...extra];
const read = (bytes: Uint8Array) => readFlexKernel(new ArrayBytes(bytes), 0, bytes.length, { fields: 1_000_000 });

describe("readFlexKernel", () => {
  it.each([1, 2, 4, 8])("reads the name and the NodeDef's op with %i-byte widths", (width) => {
    expect(read(flex("WriteFile", nodeDef("AddV2"), width))).toEqual({ ok: true, name: "WriteFile", nodeOp: "AddV2" });
  });

  it("reads a KEY name and a map root as flexbuffers::AsString / AsVector do", () => {
    expect(read(flex("ReadFile", nodeDef("ReadFile"), 1, { key: true }))).toMatchObject({ name: "ReadFile" });
    expect(read(flex("ReadFile", nodeDef("ReadFile"), 1, { root: MAP }))).toMatchObject({ nodeOp: "ReadFile" });
  });

  it("takes the NodeDef's last op, in any field order, skipping groups and unknown fields", () => {
    const def = [...lfield(2, "AddV2"), ...lfield(3, "x"), 0x28, 0x01, ...lfield(2, "WriteFile"), ...lfield(1, "n")];
    expect(read(flex("AddV2", def))).toMatchObject({ ok: true, nodeOp: "WriteFile" });
    // an op field inside a group (field 9) is not NodeDef.op
    const grouped = [...lfield(2, "AddV2"), 0x4b, ...lfield(2, "WriteFile"), 0x4c];
    expect(read(flex("AddV2", grouped))).toMatchObject({ ok: true, nodeOp: "AddV2" });
  });

  it("says why options are unreadable instead of guessing", () => {
    const good = flex("AddV2", nodeDef("AddV2"));
    expect(read(good.subarray(0, 2))).toMatchObject({ ok: false });
    expect(read(new Uint8Array([1, 2, 3, 4, 5]))).toMatchObject({ ok: false });
    expect(read(flex("AddV2", nodeDef("AddV2"), 1, { root: STRING }))).toMatchObject({ ok: false });
    // an offset pointing before the options
    const bad = good.slice();
    bad[bad.length - 3] = 200;
    expect(read(bad)).toMatchObject({ ok: false });
    // a NodeDef longer than its budget
    const many = Array.from({ length: MAX_NODEDEF_FIELDS + 1 }, () => [0x18, 0x01]).flat();
    expect(read(flex("AddV2", many, 2))).toMatchObject({ ok: false, reason: expect.stringMatching(/fields/) });
    // the model-wide budget
    const small = flex("AddV2", nodeDef("AddV2"));
    expect(readFlexKernel(new ArrayBytes(small), 0, small.length, { fields: 1 })).toMatchObject({ ok: false });
  });

  it("reads options written by the flatbuffers library (the FlexRoll sample)", async () => {
    const file = await scanOne(
      new Uint8Array(readFileSync(join(SAMPLES, "tflite/suspicious/flex_op.tflite"))),
      "m.tflite",
    );
    expect(file.findings.find((f) => f.ruleId === "tflite/flex-op")?.evidence?.kernels).toBe("Roll");
  });
});

describe("Flex operators judged by their custom options", () => {
  const sample = (name: string) => new Uint8Array(readFileSync(join(SAMPLES, "graph-bypass", "tflite", name)));

  it("FlexAddV2 whose options name WriteFile is the I/O rule (high)", async () => {
    const file = await scanOne(sample("flex_addv2_runs_writefile.tflite"), "m.tflite");
    expect(file.verdict).toBe("malicious");
    const finding = file.findings.find((f) => f.ruleId === "tflite/flex-io-op");
    expect(finding?.severity).toBe("high");
    expect(finding?.evidence).toMatchObject({ customCode: "FlexAddV2", kernels: "WriteFile" });
    expect(ruleIds(file)).not.toContain("tflite/flex-op");
  });

  it("a NodeDef whose op is a Python callback is critical", async () => {
    const file = await scanOne(sample("flex_nodedef_pyfunc.tflite"), "m.tflite");
    expect(file.findings.find((f) => f.ruleId === "tflite/flex-python-op")?.severity).toBe("critical");
  });

  it("the large custom options, which the interpreter uses when set, are the ones read", async () => {
    const file = await scanOne(sample("flex_large_options.tflite"), "m.tflite");
    expect(file.verdict).toBe("malicious");
    expect(ruleIds(file)).toContain("tflite/flex-io-op");
    expect(ruleIds(file)).not.toContain("tflite/malformed");
  });

  it("unreadable options are an unknown TensorFlow op (medium), never clean", async () => {
    const file = await scanOne(sample("flex_unreadable_options.tflite"), "m.tflite");
    expect(file.verdict).toBe("suspicious");
    const finding = file.findings.find((f) => f.ruleId === "tflite/flex-op");
    expect(finding?.severity).toBe("medium");
    expect(finding?.evidence?.unreadableOptions).toBe(1);
  });

  it("options naming the custom_code's own kernel stay the plain Flex rule", async () => {
    const file = await scanOne(sample("flex_addv2_consistent.tflite"), "m.tflite");
    expect(file.verdict).toBe("suspicious");
    expect(ruleIds(file)).toEqual(["tflite/flex-op"]);
  });
});
