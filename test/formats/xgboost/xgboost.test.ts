import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { legacyBinaryStart, readLegacyBinary } from "../../../src/formats/xgboost/binary.js";
import { validateModel } from "../../../src/formats/xgboost/model.js";
import { readUbjson } from "../../../src/formats/xgboost/ubjson.js";
import { sniff } from "../../../src/registry/catalog.js";
import { BufferSource } from "../../../src/sources/byte-source.js";
import { SAMPLES, scanOne } from "../../helpers/scan.js";

const sample = (p: string) => new Uint8Array(readFileSync(join(SAMPLES, "xgboost", p)));
const sniffAs = (bytes: Uint8Array, name: string) =>
  sniff({ head: bytes, tail: bytes, size: bytes.length, name }).map((d) => d.format);
const enc = (s: string) => new TextEncoder().encode(s);
const ubj = (...parts: (string | number[])[]) =>
  new BufferSource(Uint8Array.from(parts.flatMap((p) => (typeof p === "string" ? [...Buffer.from(p, "latin1")] : p))));

describe("xgboost detection", () => {
  it("recognises every encoding by content, whatever the name", () => {
    for (const f of ["model.json", "model.ubj", "model.bin", "headerless.model", "dart.ubj", "linear.json"]) {
      expect(sniffAs(sample(f), "renamed")[0], f).toBe("xgboost");
    }
  });

  it("leaves other JSON to the text module", () => {
    expect(sniffAs(enc('{"version": [1, 7, 4], "learner": {}}'), "x.json")[0]).toBe("json");
    expect(sniffAs(enc('{"learners": 1}'), "x.json")[0]).toBe("json");
    expect(sniffAs(enc('\n  { "learner" : {}}'), "x.json")[0]).toBe("xgboost");
  });

  it("falls back to plain JSON when a learner document is no model", async () => {
    const file = await scanOne(enc('{"learner": {"a": 1}}'), "config.json");
    expect(file.format).toBe("json");
    expect(file.verdict).toBe("clean");
  });

  it("needs the objective name at its fixed offset for the magic-less binary", () => {
    expect(legacyBinaryStart(sample("model.bin"))).toBe(4);
    expect(legacyBinaryStart(sample("headerless.model"))).toBe(0);
    expect(legacyBinaryStart(new Uint8Array(400))).toBeUndefined();
  });
});

describe("xgboost models", () => {
  it("reads the same facts from JSON, UBJSON and the legacy binary", async () => {
    for (const f of ["model.json", "model.ubj", "model.bin", "headerless.model"]) {
      const file = await scanOne(sample(f), f);
      expect(file.verdict, f).toBe("clean");
      expect(file.facts, f).toMatchObject({
        "xgboost.objective": "binary:logistic",
        "xgboost.booster": "gbtree",
        "xgboost.numTrees": 3,
        "xgboost.numFeature": 4,
      });
    }
    expect((await scanOne(sample("model.json"), "m.json")).facts?.toolVersions).toEqual({ xgboost: "1.7.4" });
  });

  it("validates trees", () => {
    const tree = (left: number[], right: number[], split = [0, 0, 0]) => ({
      tree_param: { num_nodes: String(left.length) },
      left_children: left,
      right_children: right,
      parents: left.map(() => 0),
      split_indices: split,
      split_conditions: left.map(() => 0),
      default_left: left.map(() => 0),
    });
    const doc = (trees: unknown[], numTrees = trees.length) => ({
      learner: {
        learner_model_param: { num_feature: "4" },
        objective: { name: "reg:squarederror" },
        gradient_booster: {
          name: "gbtree",
          model: { gbtree_model_param: { num_trees: String(numTrees) }, tree_info: trees.map(() => 0), trees },
        },
      },
      version: [2, 0, 0],
    });
    const rules = (d: unknown) => validateModel(d, "json").issues.map((i) => i.message);
    expect(rules(doc([tree([1, -1, -1], [2, -1, -1])]))).toEqual([]);
    expect(rules(doc([tree([1, -1, -1], [7, -1, -1])]))[0]).toMatch(/outside/);
    expect(rules(doc([tree([1, -1, -1], [-1, -1, -1])]))[0]).toMatch(/one child/);
    expect(rules(doc([tree([1, 2, -1], [2, -1, -1])]))[0]).toMatch(/one child|shares|twice/);
    expect(rules(doc([tree([1, -1, -1], [2, -1, -1], [9, 0, 0])]))[0]).toMatch(/feature 9/);
    expect(rules(doc([tree([1, -1, -1], [2, -1, -1])], 5))[0]).toMatch(/num_trees/);
    expect(validateModel({ learner: {} }, "json").isModel).toBe(false);
  });

  it("reads UBJSON strictly and within budgets", async () => {
    expect(await readUbjson(ubj("{", "i", [1], "a", "[$l#i", [2], [0, 0, 0, 1, 255, 255, 255, 255], "}"))).toEqual({
      a: Int32Array.from([1, -1]),
    });
    expect(await readUbjson(ubj("[#U", [2], "Si", [2], "hiT"))).toEqual(["hi", true]);
    await expect(readUbjson(ubj("[#L", [0, 0, 0, 1, 0, 0, 0, 0], "i", [1]))).rejects.toMatchObject({
      code: "TRUNCATED",
    });
    await expect(readUbjson(ubj("[$d#l", [0x7f, 0xff, 0xff, 0xff]))).rejects.toMatchObject({ code: "TRUNCATED" });
    await expect(readUbjson(ubj("Q"))).rejects.toMatchObject({ code: "MALFORMED" });
    await expect(readUbjson(ubj("T", "T"))).rejects.toThrow(/after the UBJSON value/);
    await expect(readUbjson(ubj("[".repeat(100)))).rejects.toMatchObject({ code: "BUDGET_EXCEEDED" });
    await expect(readUbjson(ubj("[#U", [200], "T".repeat(200)), { maxValues: 100 })).rejects.toMatchObject({
      code: "BUDGET_EXCEEDED",
    });
  });

  it("rejects truncated legacy binaries and counts beyond the budget", async () => {
    const bin = sample("model.bin");
    await expect(
      readLegacyBinary(new BufferSource(bin.subarray(0, 300)), 4, { maxTrees: 10, maxNodes: 100 }),
    ).rejects.toMatchObject({ code: "TRUNCATED" });
    await expect(readLegacyBinary(new BufferSource(bin), 4, { maxTrees: 2, maxNodes: 100 })).rejects.toThrow(
      /num_trees 3/,
    );
  });
});
