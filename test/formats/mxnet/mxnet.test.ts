import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readNdarrayList } from "../../../src/formats/mxnet/params.js";
import { analyzeSymbol } from "../../../src/formats/mxnet/symbol.js";
import { sniff } from "../../../src/registry/catalog.js";
import { BufferSource } from "../../../src/sources/byte-source.js";
import { SAMPLES, scanOne } from "../../helpers/scan.js";

const sample = (p: string) => new Uint8Array(readFileSync(join(SAMPLES, "mxnet", p)));
const sniffAs = (bytes: Uint8Array, name: string) =>
  sniff({ head: bytes, tail: bytes, size: bytes.length, name }).map((d) => d.format);
const u64 = (n: number | bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return [...b];
};

describe("mxnet detection", () => {
  it("recognises parameters and symbols by content", () => {
    expect(sniffAs(sample("model-0000.params"), "weights")[0]).toBe("mxnet-params");
    expect(sniffAs(sample("model-symbol.json"), "graph.json")[0]).toBe("mxnet-symbol");
    expect(sniffAs(new TextEncoder().encode('{"name": "x", "nodes": []}'), "x.json")[0]).toBe("json");
  });

  it("falls back to JSON when a nodes document is no graph", async () => {
    const file = await scanOne(new TextEncoder().encode('{"nodes": [1, 2]}'), "x.json");
    expect(file.format).toBe("json");
    expect(file.verdict).toBe("clean");
  });
});

describe("NDArray lists", () => {
  it("inventories dense, NumPy-shape and row-sparse arrays without reading them", async () => {
    const list = await readNdarrayList(new BufferSource(sample("model-0000.params")), { maxArrays: 100 });
    expect(list).toMatchObject({ arrays: 4, parameters: 32n + 8n + 8n + 30n, names: 4, sparse: 1 });
    expect([...list.dtypes].sort()).toEqual(["float16", "float32"]);
    expect(list.end).toBe(sample("model-0000.params").length);
  });

  it("rejects impossible counts, sizes and names", async () => {
    const read = (bytes: number[]) => readNdarrayList(new BufferSource(Uint8Array.from(bytes)), { maxArrays: 1000 });
    const head = [...u64(0x112), ...u64(0)];
    await expect(read([...head, ...u64(1n << 40n)])).rejects.toMatchObject({ code: "BUDGET_EXCEEDED" });
    await expect(read([...head, ...u64(500), ...new Array(16).fill(0)])).rejects.toThrow(/500 arrays declared/);
    // one V2 dense array of shape (2^40,) float32: its data cannot be there
    const big = [0xc9, 0xfa, 0x93, 0xf9, 0, 0, 0, 0, 1, 0, 0, 0, ...u64(1n << 40n), 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    await expect(read([...head, ...u64(1), ...big, ...u64(0)])).rejects.toMatchObject({ code: "TRUNCATED" });
    const badFlag = [0xc9, 0xfa, 0x93, 0xf9, 0, 0, 0, 0, 1, 0, 0, 0, ...u64(1), 1, 0, 0, 0, 0, 0, 0, 0, 99, 0, 0, 0];
    await expect(read([...head, ...u64(1), ...badFlag, 0, 0, 0, 0, ...u64(0)])).rejects.toThrow(/type flag 99/);
  });
});

describe("symbol graphs", () => {
  it("flags custom and native-callback operators", () => {
    const node = (op: string, attrs: Record<string, string> = {}) => ({ op, name: op, inputs: [], attrs });
    const g = analyzeSymbol({
      nodes: [node("null"), node("Custom", { op_type: "mine" }), node("_NDArray", { info: "1234" })],
      arg_nodes: [0],
      heads: [[2, 0, 0]],
      attrs: { mxnet_version: ["int", 10600] },
    });
    expect(g?.issues.map((i) => i.ruleId)).toEqual(["mxnet/custom-operator", "mxnet/native-operator"]);
    expect(g?.version).toBe("1.6.0");
    expect(analyzeSymbol({ nodes: [], heads: [[3, 0, 0]] })?.issues.map((i) => i.message)).toEqual([
      "heads point outside the graph",
    ]);
    expect(analyzeSymbol({ nodes: [] })).toBeUndefined();
  });
});
