import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isModelgateError } from "../../../src/core/errors.js";
import { operatorFindings } from "../../../src/formats/onnx/analyzer.js";
import { modelgate } from "../../../src/formats/onnx/generated/onnx.js";
import { readOnnx, readOnnxPartial } from "../../../src/formats/onnx/reader.js";
import { BufferSource, type ByteSource } from "../../../src/sources/byte-source.js";
import { SAMPLES } from "../../helpers/scan.js";

const pb = modelgate.onnx;
type Graph = modelgate.onnx.GraphProto.$Properties;
type Node = modelgate.onnx.NodeProto.$Properties;
type Tensor = modelgate.onnx.TensorProto.$Properties;
type Model = modelgate.onnx.ModelProto.$Properties;

/** A source that records every read, to prove payloads are not read. */
class CountingSource implements ByteSource {
  readonly size: number;
  reads: Array<[number, number]> = [];
  constructor(readonly bytes: Uint8Array) {
    this.size = bytes.length;
  }
  read(offset: number, length: number): Promise<Uint8Array> {
    this.reads.push([offset, length]);
    return Promise.resolve(this.bytes.subarray(offset, Math.min(this.size, offset + length)));
  }
  get total(): number {
    return this.reads.reduce((n, [, l]) => n + l, 0);
  }
}

const encode = (model: Model): Uint8Array => pb.ModelProto.encode(model).finish();

/** Reference: the same summary computed from protobufjs's full decode. */
function reference(bytes: Uint8Array) {
  const model = pb.ModelProto.decode(bytes);
  const ops = new Map<string, number>();
  let nodes = 0;
  let graphs = 0;
  let initializers = 0;
  let external = 0;
  const tensor = (t: modelgate.onnx.ITensorProto | null | undefined) => {
    if (t && ((t.external_data?.length ?? 0) > 0 || t.data_location === 1)) external++;
  };
  const node = (n: modelgate.onnx.INodeProto) => {
    nodes++;
    const key = `${n.domain ?? ""}\u0000${n.op_type ?? ""}`;
    ops.set(key, (ops.get(key) ?? 0) + 1);
    for (const a of n.attribute ?? []) {
      tensor(a.t);
      for (const t of a.tensors ?? []) tensor(t);
      if (a.g) graph(a.g);
      for (const g of a.graphs ?? []) graph(g);
    }
  };
  const graph = (g: modelgate.onnx.IGraphProto) => {
    graphs++;
    for (const n of g.node ?? []) node(n);
    for (const t of g.initializer ?? []) {
      initializers++;
      tensor(t);
    }
  };
  if (model.graph) graph(model.graph);
  for (const f of model.functions ?? []) for (const n of f.node ?? []) node(n);
  for (const t of model.training_info ?? []) {
    if (t.initialization) graph(t.initialization);
    if (t.algorithm) graph(t.algorithm);
  }
  return { nodes, graphs, initializers, external, ops };
}

const name = fc.string({ maxLength: 12 });
const domain = fc.constantFrom("", "ai.onnx", "ai.onnx.ml", "com.microsoft", "ai.onnx.contrib", "com.evil");
const opType = fc.constantFrom("Add", "Relu", "If", "Loop", "PyOp", "FusedMatMul", "Weird", "Constant");
const tensorArb: fc.Arbitrary<Tensor> = fc.record({
  name,
  dims: fc.array(fc.integer({ min: 0, max: 64 }), { maxLength: 3 }),
  data_type: fc.integer({ min: 1, max: 16 }),
  raw_data: fc.integer({ min: 0, max: 20_000 }).map((n) => new Uint8Array(n).fill(0xab)),
  external_data: fc.array(fc.record({ key: fc.constantFrom("location", "offset", "length", "x"), value: name }), {
    maxLength: 3,
  }),
  data_location: fc.constantFrom(0, 1),
});

const { graph: graphArb } = fc.letrec<{ graph: Graph; node: Node }>((tie) => ({
  node: fc.record({
    name,
    op_type: opType,
    domain,
    input: fc.array(name, { maxLength: 2 }),
    attribute: fc.array(
      fc.oneof(
        { depthSize: "small", maxDepth: 3 },
        fc.record({ name, type: fc.constant(2), i: fc.integer() }),
        fc.record({ name, type: fc.constant(4), t: tensorArb }),
        fc.record({ name, type: fc.constant(5), g: tie("graph") as fc.Arbitrary<Graph> }),
        fc.record({
          name,
          type: fc.constant(10),
          graphs: fc.array(tie("graph") as fc.Arbitrary<Graph>, { maxLength: 2 }),
        }),
      ),
      { maxLength: 2 },
    ),
  }),
  graph: fc.record({
    name,
    node: fc.array(tie("node") as fc.Arbitrary<Node>, { maxLength: 4, depthIdentifier: "g" }),
    initializer: fc.array(tensorArb, { maxLength: 3 }),
  }),
}));

const modelArb: fc.Arbitrary<Model> = fc.record({
  ir_version: fc.integer({ min: 3, max: 11 }),
  producer_name: name,
  graph: graphArb,
  opset_import: fc.array(fc.record({ domain, version: fc.integer({ min: 1, max: 21 }) }), { maxLength: 3 }),
  functions: fc.array(
    fc.record({
      name,
      domain: fc.constantFrom("local", "com.evil"),
      node: fc.array(fc.record({ op_type: opType, domain }), { maxLength: 3 }),
    }),
    { maxLength: 2 },
  ),
  training_info: fc.array(fc.record({ algorithm: graphArb }), { maxLength: 1 }),
});

describe("readOnnx", () => {
  it("agrees with protobufjs's full decode on random models (property)", async () => {
    await fc.assert(
      fc.asyncProperty(modelArb, async (model) => {
        const bytes = encode(model);
        const expected = reference(bytes);
        const summary = await readOnnx(new BufferSource(bytes));
        expect(summary.nodes).toBe(expected.nodes);
        expect(summary.graphs).toBe(expected.graphs);
        expect(summary.initializers).toBe(expected.initializers);
        expect(summary.externalRefs.length).toBe(expected.external);
        expect(new Map([...summary.ops].map(([k, v]) => [k, v.count]))).toEqual(expected.ops);
      }),
      { seed: 4242, numRuns: 150 },
    );
  });

  it("never throws anything but a typed error on corrupted models (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        modelArb,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.nat(),
        async (model, flips, cut) => {
          const bytes = encode(model).slice();
          for (const [at, value] of flips) if (bytes.length > 0) bytes[at % bytes.length] = value;
          const truncated = bytes.subarray(0, bytes.length === 0 ? 0 : cut % (bytes.length + 1));
          for (const input of [bytes, truncated]) {
            const { error } = await readOnnxPartial(new BufferSource(input));
            if (error !== undefined) {
              expect(isModelgateError(error)).toBe(true);
              expect(["MALFORMED", "TRUNCATED", "BUDGET_EXCEEDED"]).toContain(error.code);
            }
          }
        },
      ),
      { seed: 777, numRuns: 300 },
    );
  });

  it("skips initializer payloads without reading them", async () => {
    const big = new Uint8Array(8 * 1024 * 1024).fill(7);
    const model: Model = {
      ir_version: 8,
      graph: {
        node: [{ op_type: "Add", input: ["x", "w0"] }],
        initializer: [0, 1, 2].map((i) => ({ name: `w${i}`, dims: [2 * 1024 * 1024], data_type: 1, raw_data: big })),
      },
      opset_import: [{ domain: "", version: 13 }],
    };
    const source = new CountingSource(encode(model));
    const summary = await readOnnx(source);
    expect(summary.initializers).toBe(3);
    expect(summary.parameters).toBe(3 * 2 * 1024 * 1024);
    expect(summary.payloadBytesSkipped).toBeGreaterThanOrEqual(3 * big.length);
    // three 8 MiB payloads: the reader reads a few KiB of headers
    expect(source.total).toBeLessThan(256 * 1024);
  });

  it("finds operators and external data in every corner of the graph tree", async () => {
    const ext = (location: string): Tensor => ({
      name: location,
      data_location: 1,
      external_data: [{ key: "location", value: location }],
    });
    const sub = (op: string, dom = ""): Graph => ({ node: [{ op_type: op, domain: dom }] });
    const model: Model = {
      graph: {
        node: [
          { op_type: "If", attribute: [{ name: "then_branch", type: 5, g: sub("PyOp", "ai.onnx.contrib") }] },
          { op_type: "Constant", attribute: [{ name: "value", type: 4, t: ext("const.bin") }] },
          { op_type: "Scan", attribute: [{ name: "bodies", type: 10, graphs: [sub("A", "x.y"), sub("B", "x.y")] }] },
        ],
        initializer: [ext("init.bin")],
        sparse_initializer: [{ values: ext("sparse.bin"), indices: { dims: [1], data_type: 7 }, dims: [4] }],
      },
      functions: [{ name: "F", domain: "fn", node: [{ op_type: "Evil", domain: "com.evil" }] }],
      training_info: [{ initialization: sub("Init", "train.x"), algorithm: sub("Algo", "train.y") }],
    };
    const summary = await readOnnx(new BufferSource(encode(model)));
    const ops = [...summary.ops.values()].map((o) => `${o.domain}::${o.opType}`).sort();
    expect(ops).toEqual(
      [
        "::If",
        "::Constant",
        "::Scan",
        "ai.onnx.contrib::PyOp",
        "x.y::A",
        "x.y::B",
        "com.evil::Evil",
        "train.x::Init",
        "train.y::Algo",
      ].sort(),
    );
    expect(summary.externalRefs.map((r) => r.tensor).sort()).toEqual(["const.bin", "init.bin", "sparse.bin"]);
    expect(summary.initializers).toBe(2);
    expect(summary.graphs).toBe(6);
    expect(summary.ops.get("ai.onnx.contrib\u0000PyOp")?.where).toBe("graph/node:?(If)/attr:then_branch/node:?(PyOp)");
    const rules = operatorFindings(summary).map((f) => `${f.ruleId}:${f.evidence?.opType}`);
    expect(rules).toContain("onnx/python-op:PyOp");
    expect(rules).toContain("onnx/nonstandard-domain:Evil");
    expect(rules).not.toContain("onnx/unknown-op:If");
  });

  it("enforces the graph nesting, node and name budgets", async () => {
    let g: Graph = { node: [{ op_type: "Relu" }] };
    for (let i = 0; i < 10; i++) g = { node: [{ op_type: "If", attribute: [{ name: "b", type: 5, g }] }] };
    const bytes = encode({ graph: g });
    await expect(readOnnx(new BufferSource(bytes), { maxGraphDepth: 5 })).rejects.toMatchObject({
      code: "BUDGET_EXCEEDED",
      budget: "onnx.maxGraphDepth",
    });
    await expect(readOnnx(new BufferSource(bytes), { maxNodes: 3 })).rejects.toMatchObject({
      budget: "onnx.maxNodes",
    });
    const long = encode({ graph: { node: [{ op_type: "x".repeat(5000) }] } });
    await expect(readOnnx(new BufferSource(long), { maxNameLength: 100 })).rejects.toMatchObject({
      budget: "onnx.maxNameLength",
    });
    await expect(readOnnx(new BufferSource(long), { maxString: 100 })).rejects.toMatchObject({
      budget: "protobuf.maxString",
    });
  });

  it("reports truncation and bad wire data as typed errors", async () => {
    const bytes = readFileSync(join(SAMPLES, "onnx/clean/mlp_torch.onnx"));
    for (const cut of [1, 7, 100, bytes.length - 3]) {
      await expect(readOnnx(new BufferSource(bytes.subarray(0, cut)))).rejects.toSatisfy(isModelgateError);
    }
    // field number 0, and a length prefix longer than the message
    await expect(readOnnx(new BufferSource(Uint8Array.of(0x02, 0x00)))).rejects.toMatchObject({ code: "MALFORMED" });
    await expect(readOnnx(new BufferSource(Uint8Array.of(0x3a, 0x7f, 0x00)))).rejects.toMatchObject({
      code: "TRUNCATED",
    });
  });

  it("summarises a real torch export", async () => {
    const s = await readOnnx(new BufferSource(readFileSync(join(SAMPLES, "onnx/clean/mlp_torch.onnx"))));
    expect(s.producer).toBe("pytorch");
    expect(s.opsets.get("")).toBe(13);
    expect([...s.ops.values()].map((o) => o.opType).sort()).toEqual(
      ["Gemm", "Gemm", "Relu", "Softmax"].sort().filter((v, i, a) => a.indexOf(v) === i),
    );
    expect(s.initializers).toBe(4);
    expect(s.parameters).toBe(16 * 8 + 8 + 8 * 4 + 4);
  });
});

describe("ATen fallback nodes", () => {
  const rulesOf = async (domain: string) => {
    const bytes = encode({
      ir_version: 8,
      opset_import: [{ domain: "", version: 14 }],
      graph: { node: [{ op_type: "ATen", domain }] },
    } as Model);
    const summary = await readOnnx(new BufferSource(bytes));
    return operatorFindings(summary).map((f) => `${f.ruleId}:${f.severity ?? ""}`);
  };

  it("is onnx/aten-op in torch.onnx's and onnxruntime's domains", async () => {
    expect(await rulesOf("org.pytorch.aten")).toEqual(["onnx/aten-op:"]);
    expect(await rulesOf("com.microsoft")).toEqual(["onnx/aten-op:"]);
  });

  it("is judged by its domain elsewhere (a Python-registered contrib op named ATen)", async () => {
    expect(await rulesOf("ai.onnx.contrib")).toEqual(["onnx/nonstandard-domain:medium"]);
  });
});
