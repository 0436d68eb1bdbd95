import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readLightgbm } from "../../../src/formats/lightgbm/model.js";
import { sniff } from "../../../src/registry/catalog.js";
import { BufferSource } from "../../../src/sources/byte-source.js";
import { SAMPLES, scanOne } from "../../helpers/scan.js";

const text = readFileSync(join(SAMPLES, "lightgbm", "model.txt"), "utf8");
const enc = (s: string) => new TextEncoder().encode(s);
const read = (s: string) => readLightgbm(new BufferSource(enc(s)), { maxTrees: 100 });

describe("lightgbm", () => {
  it("is recognised by content, not by name", () => {
    const b = enc(text);
    expect(sniff({ head: b, tail: b, size: b.length, name: "booster" })[0]?.format).toBe("lightgbm");
    const other = enc("tree\nsome words\n");
    expect(sniff({ head: other, tail: other, size: other.length, name: "model.txt" })[0]?.format).toBe("text");
  });

  it("reads header and trees", async () => {
    const m = await read(text);
    expect(m).toMatchObject({ trees: 2, leaves: 5, issues: [] });
    expect(m.header.get("objective")).toBe("binary sigmoid:1");
    const file = await scanOne(enc(text), "model.txt");
    expect(file.facts).toMatchObject({ "lightgbm.numTrees": 2, "lightgbm.numFeature": 4 });
  });

  it("rejects broken structure", async () => {
    await expect(read(text.replace("max_feature_idx=3\n", ""))).rejects.toThrow(/max_feature_idx/);
    await expect(read(text.replace("Tree=1", "Tree=5"))).rejects.toThrow(/out of sequence/);
    await expect(read(text.replace(/tree_sizes=.*\n/, "tree_sizes=1\n"))).rejects.toThrow(/tree_sizes/);
    const m = await read(text.replace("split_feature=0 1", "split_feature=0 7"));
    expect(m.issues.map((i) => i.message)).toEqual([expect.stringMatching(/feature 7/)]);
    await expect(
      readLightgbm(new BufferSource(enc(`tree\nversion=v4\nx=${"a".repeat(5000)}\n`)), { maxTrees: 1, maxLine: 1000 }),
    ).rejects.toMatchObject({ code: "BUDGET_EXCEEDED" });
  });
});
