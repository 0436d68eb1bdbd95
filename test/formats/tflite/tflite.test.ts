import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BufferSource } from "../../../src/core/byte-source.js";
import { detectTflite } from "../../../src/formats/tflite/index.js";
import { readTflite } from "../../../src/formats/tflite/reader.js";
import { ruleIds, SAMPLES, scanOne } from "../../helpers/scan.js";
import { tfliteModel } from "../flatbuffer/build.js";

const ADD = 0;
const CONV_2D = 3;
const CUSTOM = 32;
const sample = (p: string) => new Uint8Array(readFileSync(join(SAMPLES, "tflite", p)));

describe("tflite", () => {
  it("detects TFL3 at bytes 4–8 only", () => {
    const bytes = sample("clean/add_conv.tflite");
    expect(detectTflite({ head: bytes, tail: bytes, size: bytes.length, name: "x" })?.format).toBe("tflite");
    const other = bytes.slice();
    other[7] = 0x32;
    expect(detectTflite({ head: other, tail: other, size: other.length, name: "x" })).toBeUndefined();
  });

  it("reads the benign sample's structure and facts", async () => {
    const file = await scanOne(sample("clean/add_conv.tflite"), "add_conv.tflite");
    expect(file.format).toBe("tflite");
    expect(file.verdict).toBe("clean");
    expect(file.facts?.tensorCount).toBe(3);
    expect(file.facts?.["tflite.opTypes"]).toEqual({ ADD: 1, CONV_2D: 1 });
    expect(file.facts?.["tflite.minRuntimeVersion"]).toBe("1.14.0");
    expect(file.facts?.["tflite.signatures"]).toEqual(["serving_default"]);
    expect(file.members?.map((m) => m.path)).toEqual(["add_conv.tflite!metadata/sample_metadata"]);
  });

  it("grades custom and Flex operators", async () => {
    const verdictOf = async (custom: string) => {
      const f = await scanOne(tfliteModel([{ builtin: ADD }, { builtin: CUSTOM, custom }]), "m.tflite");
      return { verdict: f.verdict, rules: ruleIds(f) };
    };
    expect(await verdictOf("MaxUnpooling2D")).toEqual({ verdict: "clean", rules: ["tflite/custom-op"] });
    expect(await verdictOf("MyOp")).toEqual({ verdict: "suspicious", rules: ["tflite/custom-op"] });
    expect(await verdictOf("FlexAddV2")).toEqual({ verdict: "suspicious", rules: ["tflite/flex-op"] });
    expect(await verdictOf("FlexMatchingFiles")).toEqual({ verdict: "malicious", rules: ["tflite/flex-io-op"] });
    expect(await verdictOf("FlexRestoreV2")).toEqual({ verdict: "malicious", rules: ["tflite/flex-io-op"] });
    const py = await scanOne(tfliteModel([{ builtin: CUSTOM, custom: "FlexPyFunc" }]), "m.tflite");
    expect(py.findings.find((f) => f.ruleId === "tflite/flex-python-op")?.severity).toBe("critical");
  });

  it("ignores custom_code on a builtin operator (the runtime resolves the builtin)", async () => {
    const f = await scanOne(tfliteModel([{ builtin: CONV_2D, custom: "FlexPyFunc" }]), "m.tflite");
    expect(f.verdict).toBe("clean");
  });

  it("flags what the runtime refuses as invalid", async () => {
    const cases: [Uint8Array, RegExp][] = [
      [tfliteModel([{ builtin: ADD }], { operators: [5] }), /opcode_index 5/],
      [tfliteModel([{ builtin: ADD }], { version: 2 }), /schema version 2/],
      [tfliteModel([{ builtin: CUSTOM }]), /no custom_code/],
      [tfliteModel([{ builtin: ADD }], { buffers: [{}, { offset: 4096, size: 100 }] }), /past the end/],
      [tfliteModel([{ builtin: ADD }], { metadata: [{ name: "m", buffer: 7 }] }), /refers to buffer 7/],
    ];
    for (const [bytes, message] of cases) {
      const f = await scanOne(bytes, "m.tflite");
      expect(f.verdict).toBe("invalid");
      expect(f.findings.some((x) => x.ruleId === "tflite/malformed" && message.test(x.message))).toBe(true);
    }
  });

  it("keeps findings made before a structural error", async () => {
    const bytes = tfliteModel([{ builtin: CUSTOM, custom: "FlexPyFunc" }]);
    const { summary } = await readTflite(new BufferSource(bytes));
    // break the subgraphs vector: make it claim 2^31 elements
    const patched = bytes.slice();
    const dv = new DataView(patched.buffer);
    const root = dv.getUint32(0, true);
    const vt = root - dv.getInt32(root, true);
    const slot = root + dv.getUint16(vt + 4 + 2 * 2, true);
    dv.setUint32(slot + dv.getUint32(slot, true), 0x8000_0000, true);
    expect(summary.opCodes).toHaveLength(1);
    const f = await scanOne(patched, "m.tflite");
    expect(ruleIds(f)).toEqual(expect.arrayContaining(["tflite/flex-python-op", "tflite/malformed"]));
    expect(f.verdict).toBe("malicious");
  });

  it("is never clean when truncated, cut or not a model", async () => {
    const bytes = sample("clean/add_conv.tflite");
    for (const cut of [8, 40, bytes.length >> 1, bytes.length - 40]) {
      const f = await scanOne(bytes.subarray(0, cut), "m.tflite");
      expect(f.verdict, `cut at ${cut}`).toBe("invalid");
    }
    const junk = await scanOne(new TextEncoder().encode("not a model at all"), "m.tflite");
    expect(junk.verdict).toBe("invalid");
    expect(ruleIds(junk)).toContain("format/claim-unmet");
  });

  it("reads a model larger than the whole-read limit in pages", async () => {
    const bytes = tfliteModel([{ builtin: ADD }, { builtin: CUSTOM, custom: "FlexWriteFile" }], {
      buffers: [{}, { data: "x".repeat(300_000) }, { data: "y".repeat(300_000) }],
    });
    const whole = await readTflite(new BufferSource(bytes));
    const paged = await readTflite(new BufferSource(bytes), { wholeBytes: 1024 });
    expect(paged.error).toBeUndefined();
    expect(paged.summary.bufferBytes).toBe(600_000);
    expect(paged.summary.opCodes.map((c) => c.custom)).toEqual(whole.summary.opCodes.map((c) => c.custom));
  });
});
