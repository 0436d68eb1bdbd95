import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as flatbuffers from "flatbuffers";
import { describe, expect, it } from "vitest";
import { readCbm } from "../../../src/formats/catboost/model.js";
import { sniff } from "../../../src/registry/catalog.js";
import { BufferSource } from "../../../src/sources/byte-source.js";
import { ruleIds, SAMPLES, scanOne } from "../../helpers/scan.js";

const sample = (name: string) => new Uint8Array(readFileSync(join(SAMPLES, "catboost", name)));
const cbm = sample("model.cbm");
const read = (b: Uint8Array) => readCbm(new BufferSource(b), { maxEntries: 10 });

describe("catboost", () => {
  it("is recognised by its magic and read", async () => {
    expect(sniff({ head: cbm, tail: cbm, size: cbm.length, name: "m" })[0]?.format).toBe("catboost");
    const m = await read(cbm);
    expect(m.formatVersion).toBe("FlabuffersModel_v1");
    expect(m.info.get("model_guid")).toBe("0123456789abcdef");
    expect((await scanOne(cbm, "model.cbm")).verdict).toBe("clean");
  });

  it("inventories the trees and features of the model core", async () => {
    const { trees } = await read(cbm);
    expect(trees).toEqual({
      treeCount: 2,
      approxDimension: 1,
      splits: 4,
      leafValues: 8,
      leafWeights: 8,
      nonSymmetric: false,
      maxDepth: 2,
      floatFeatures: 2,
      catFeatures: 1,
      oneHotFeatures: 0,
      ctrFeatures: 0,
      textFeatures: 0,
      estimatedFeatures: 0,
    });
    const file = await scanOne(cbm, "model.cbm");
    expect(file.facts).toMatchObject({
      "catboost.trees": 2,
      "catboost.treeKind": "oblivious",
      "catboost.maxDepth": 2,
      "catboost.leafValues": 8,
      "catboost.features": { float: 2, categorical: 1 },
      "catboost.versionInfo": "Version: 1.2 (sample)",
    });
  });

  it("refuses trees that do not add up", async () => {
    await expect(read(sample("hostile/tree_sizes_mismatch.cbm"))).rejects.toThrow(
      /add up to 5 splits, the model has 4/,
    );
    await expect(read(sample("hostile/leaf_values_short.cbm"))).rejects.toThrow(/7 leaf values for 8 leaves/);
    await expect(read(sample("hostile/too_deep.cbm"))).rejects.toThrow(/depth 40/);
    for (const name of ["tree_sizes_mismatch", "leaf_values_short", "too_deep"]) {
      const file = await scanOne(sample(`hostile/${name}.cbm`), "model.cbm");
      expect(file.verdict).toBe("invalid");
      expect(ruleIds(file)).toEqual(["catboost/malformed"]);
    }
  });

  it("checks every flatbuffer offset it follows", async () => {
    let refused = 0;
    for (let at = 8; at < cbm.length; at += 4) {
      const bad = cbm.slice();
      bad[at + 3] = 0x7f; // a huge offset, length or count somewhere in the core
      await read(bad).catch((e: { code?: string }) => {
        refused++;
        expect(["MALFORMED", "TRUNCATED", "BUDGET_EXCEEDED"]).toContain(e.code);
      });
    }
    expect(refused).toBeGreaterThan(20);
    const named = await scanOne(new TextEncoder().encode("not a model"), "model.cbm");
    expect(named.verdict).toBe("invalid");
  });

  it("checks the deadline while it walks millions of splits", async () => {
    // one oblivious tree per split (depth 1), 600,000 of them: the split loops run past the
    // checkpoint interval, and a checkpoint that throws stops the read
    const n = 600_000;
    const b = new flatbuffers.Builder(16 << 20);
    const ints = (values: (i: number) => number, count: number) => {
      b.startVector(4, count, 4);
      for (let i = count - 1; i >= 0; i--) b.addInt32(values(i));
      return b.endVector();
    };
    const splits = ints(() => 0, n);
    const sizes = ints(() => 1, n);
    b.startVector(8, 2 * n, 8);
    for (let i = 0; i < 2 * n; i++) b.addFloat64(0);
    const leaves = b.endVector();
    b.startObject(14);
    b.addFieldInt32(0, 1, 0);
    b.addFieldOffset(1, splits, 0);
    b.addFieldOffset(2, sizes, 0);
    b.addFieldOffset(8, leaves, 0);
    const trees = b.endObject();
    b.startObject(4);
    b.addFieldOffset(1, trees, 0);
    b.finish(b.endObject());
    const core = b.asUint8Array();
    const file = new Uint8Array(8 + core.length);
    file.set(new TextEncoder().encode("CBM1"));
    new DataView(file.buffer).setUint32(4, core.length, true);
    file.set(core, 8);
    const m = await readCbm(new BufferSource(file), { maxEntries: 10 });
    expect(m.trees.splits).toBe(n);
    let calls = 0;
    const counted = await readCbm(new BufferSource(file), { maxEntries: 10, checkpoint: () => void calls++ });
    expect(counted.trees.treeCount).toBe(n);
    expect(calls).toBeGreaterThanOrEqual(4); // both loops, every 2**18 iterations
    const stop = () => {
      throw new Error("deadline");
    };
    await expect(readCbm(new BufferSource(file), { maxEntries: 10, checkpoint: stop })).rejects.toThrow("deadline");
  });
});
