import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ruleIds, SAMPLES, scanOne } from "../../helpers/scan.js";

// samples/tf-metagraph (samples/generate/tf_metagraph.py): a MetaGraphDef whose graph holds WriteFile
const meta = new Uint8Array(readFileSync(join(SAMPLES, "tf-metagraph", "write_file", "model.ckpt.meta")));
const cat = (...parts: number[][]) => Uint8Array.from([...parts.flat()]);
const unknownVarint = [0xa0, 0x06, 0x01]; // field 100, varint 1
const emptyGroup = [0xa3, 0x01, 0xa4, 0x01]; // field 20: start group, end group

describe("MetaGraphDef with fields protobuf's parser skips", () => {
  it.each([
    ["model.ckpt.meta", cat(emptyGroup, [...meta])],
    ["bmshj-hyperprior.metagraph", cat([...meta], unknownVarint)],
    ["model.graph", cat(unknownVarint, [...meta])],
    ["model.graph", cat(emptyGroup, [...meta])],
  ])("%s is still analysed as a meta graph", async (name, bytes) => {
    const file = await scanOne(bytes, name);
    expect(file.format).toBe("tf-savedmodel");
    expect(ruleIds(file)).toContain("savedmodel/file-io-op");
  });

  it("an unmatched end-group tag is not a MetaGraphDef", async () => {
    const file = await scanOne(cat([0xa4, 0x01], [...meta]), "model.graph");
    expect(file.format).not.toBe("tf-savedmodel");
  });
});
