/**
 * MXNet symbol graphs whose keys come in another order than `sym.tojson()` writes them: dmlc's JSON
 * reader takes an object's keys in any order, so the sniffer and the JSON analysis must find the
 * graph wherever `nodes` is, even past the sniffer's head.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startsLikeSymbol, topLevelKeys } from "../../../src/formats/mxnet/index.js";
import { sniff } from "../../../src/registry/catalog.js";
import { ruleIds, SAMPLES, scanOne } from "../../helpers/scan.js";

const enc = new TextEncoder();
const nodes = [
  { op: "null", name: "data", inputs: [] },
  { op: "_Native", name: "n", attrs: { info: "140737488355328" }, inputs: [[0, 0, 0]] },
];
const sniffAs = (text: string, name: string) => {
  const bytes = enc.encode(text);
  return sniff({ head: bytes.subarray(0, 4096), tail: bytes, size: bytes.length, name })[0]?.format;
};

describe("top-level keys", () => {
  it("are read at depth 1 only, strings and escapes skipped", () => {
    expect(topLevelKeys(enc.encode('{"a": {"nodes": [1]}, "b\\"c": "x,\\"nodes\\"", "heads": []}'))).toEqual([
      "a",
      'b\\"c',
      "heads",
    ]);
    expect(topLevelKeys(enc.encode('["nodes"]'))).toBeUndefined();
  });

  it("a graph is any object whose keys are graph keys, in any order and spacing", () => {
    expect(startsLikeSymbol(enc.encode('{"arg_nodes": [0], "nodes": []'))).toBe(true);
    expect(startsLikeSymbol(enc.encode('\n\t{ "heads" :[[1,0,0]],\r\n"nodes":['))).toBe(true);
    expect(startsLikeSymbol(enc.encode('{\u000b"node_row_ptr": [0], "attrs": {}}'))).toBe(true);
    expect(startsLikeSymbol(enc.encode('{"attrs": {"nodes": []}}'))).toBe(false); // attrs alone says nothing
    expect(startsLikeSymbol(enc.encode('{"nodes": [], "links": []}'))).toBe(false); // dmlc refuses "links"
    expect(startsLikeSymbol(enc.encode('{"name": "x", "nodes": []}'))).toBe(false);
  });
});

describe("graphs in any key order", () => {
  const graph = (order: string[]) => {
    const all: Record<string, unknown> = {
      nodes,
      arg_nodes: [0],
      node_row_ptr: [0, 1, 2],
      heads: [[1, 0, 0]],
      attrs: { mxnet_version: ["int", 10901] },
    };
    return JSON.stringify(Object.fromEntries(order.map((k) => [k, all[k]])));
  };

  it.each([
    [["arg_nodes", "nodes", "node_row_ptr", "heads", "attrs"]],
    [["heads", "nodes", "arg_nodes"]],
    [["attrs", "node_row_ptr", "arg_nodes", "heads", "nodes"]],
  ])("%j: the _Native node is found", async (order) => {
    const text = graph(order);
    expect(sniffAs(text, "m-symbol.json")).toBe("mxnet-symbol");
    const file = await scanOne(enc.encode(text), "m-symbol.json");
    expect(file.format).toBe("mxnet-symbol");
    expect(file.verdict).toBe("malicious");
    expect(ruleIds(file)).toContain("mxnet/native-operator");
  });

  it("a graph whose keys lie past the head is read by the JSON analysis", async () => {
    const text = JSON.stringify({
      attrs: { mxnet_version: ["int", 10901], pad: ["str", "A".repeat(20_000)] },
      heads: [[1, 0, 0]],
      arg_nodes: [0],
      nodes,
    });
    expect(sniffAs(text, "m.json")).toBe("json");
    const file = await scanOne(enc.encode(text), "m.json");
    expect(file.format).toBe("mxnet-symbol");
    expect(file.verdict).toBe("malicious");
    expect(ruleIds(file)).toContain("mxnet/native-operator");
  });

  it("JSON that is no graph MXNet loads stays plain JSON", async () => {
    const pad = "A".repeat(5000);
    for (const value of [
      { pad, nodes: [{ id: 1 }], links: [], heads: [[0, 0, 0]] }, // a key dmlc refuses
      { pad, nodes: 1, heads: 2 }, // not arrays
      { pad, nodes: [], note: "heads" }, // "heads" only as a value
    ]) {
      const file = await scanOne(enc.encode(JSON.stringify(value)), "data.json");
      expect(file.format, JSON.stringify(value).slice(-40)).toBe("json");
      expect(file.verdict).toBe("clean");
    }
  });
});

describe("samples", () => {
  it("graph-bypass mxnet samples", async () => {
    const dir = join(SAMPLES, "graph-bypass", "mxnet");
    const scan = async (name: string) => scanOne(new Uint8Array(readFileSync(join(dir, name))), name);
    for (const name of ["reordered-symbol.json", "attrs_first-symbol.json"]) {
      const file = await scan(name);
      expect(file.verdict, name).toBe("malicious");
      expect(ruleIds(file), name).toContain("mxnet/native-operator");
    }
    expect((await scan("benign_reordered-symbol.json")).verdict).toBe("clean");
    expect((await scan("node_link.json")).format).toBe("json");
  });
});
