import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sniff } from "../../../src/registry/catalog.js";
import { ruleIds, SAMPLES, scanOne } from "../../helpers/scan.js";

// A minimal protobuf writer (field numbers from coremltools' Model.proto / NeuralNetwork.proto).
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
const description = bytes(2, cat(bytes(1, cat(bytes(1, "x"), bytes(3, bytes(2, new Uint8Array()))))));
const model = (type: number, body: Uint8Array) => cat(num(1, 5), description, bytes(type, body));
const layer = (name: string, type: number, params: Uint8Array) => bytes(1, cat(bytes(1, name), bytes(type, params)));

const sample = (name: string) => new Uint8Array(readFileSync(join(SAMPLES, "coreml", name)));

describe("Core ML", () => {
  it("recognises .mlmodel content under any name, and leaves ONNX alone", () => {
    const nn = sample("neural_network.mlmodel");
    expect(sniff({ head: nn, tail: nn, size: nn.length, name: "blob" })[0]?.format).toBe("coreml");
    const onnx = new Uint8Array(readFileSync(join(SAMPLES, "onnx/unknown_op.onnx")));
    expect(sniff({ head: onnx, tail: onnx, size: onnx.length, name: "model.onnx" })[0]?.format).toBe("onnx");
    expect(sniff({ head: onnx, tail: onnx, size: onnx.length, name: "x.mlmodel" })[0]?.format).not.toBe("coreml");
  });

  it("a neural network is clean, with facts", async () => {
    const file = await scanOne(sample("neural_network.mlmodel"), "m.mlmodel");
    expect(file.verdict).toBe("clean");
    expect(file.facts).toMatchObject({
      "coreml.specificationVersion": 4,
      "coreml.modelType": "neuralNetwork",
      "coreml.layerTypes": { innerProduct: 1, activation: 1 },
      inputs: [{ name: "x", dtype: "float32", shape: [4] }],
    });
  });

  it("custom layers inside branch and loop bodies are found", async () => {
    const custom = layer("c", 500, bytes(10, "HiddenClass"));
    const branch = layer("b", 605, bytes(2, custom));
    const loop = layer("l", 615, bytes(4, branch));
    const file = await scanOne(model(500, loop), "m.mlmodel");
    expect(ruleIds(file)).toContain("coreml/custom-layer");
    expect(file.findings.find((f) => f.ruleId === "coreml/custom-layer")?.evidence).toMatchObject({
      className: "HiddenClass",
      layer: "c",
    });
  });

  it("custom models deep in pipelines are found; nesting has a budget", async () => {
    let m = model(555, bytes(10, "Inner"));
    for (let i = 0; i < 3; i++) m = model(202, bytes(1, m));
    const file = await scanOne(m, "m.mlmodel");
    expect(ruleIds(file)).toContain("coreml/custom-model");
    let deep = model(500, new Uint8Array());
    for (let i = 0; i < 30; i++) deep = model(200, bytes(1, bytes(1, deep)));
    const tooDeep = await scanOne(deep, "m.mlmodel");
    expect(tooDeep.verdict).toBe("invalid");
  });

  it("unknown layer types and opaque serialized models are suspicious", async () => {
    const unknownLayer = await scanOne(model(500, layer("u", 4242, new Uint8Array([8, 1]))), "m.mlmodel");
    expect(ruleIds(unknownLayer)).toContain("coreml/unknown-layer");
    expect(unknownLayer.verdict).toBe("suspicious");
    const serialized = await scanOne(model(3000, cat(bytes(1, "x.y"), bytes(2, "zz"))), "m.mlmodel");
    expect(ruleIds(serialized)).toContain("coreml/unknown-model-type");
  });

  it("truncated or untyped models are invalid", async () => {
    const nn = sample("neural_network.mlmodel");
    const cut = await scanOne(nn.subarray(0, nn.length - 9), "m.mlmodel");
    expect(cut.verdict).toBe("invalid");
    const untyped = await scanOne(model(202, bytes(1, cat(num(1, 4), description))), "m.mlmodel");
    expect(ruleIds(untyped)).toContain("coreml/malformed");
    const junk = await scanOne(enc.encode("not a model"), "m.mlmodel");
    expect(junk.verdict).toBe("invalid");
  });
});
