import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { shardPath } from "../../../src/formats/tfcheckpoint/analyzer.js";
import { readCheckpointIndex } from "../../../src/formats/tfcheckpoint/index-reader.js";
import { sniff } from "../../../src/registry/catalog.js";
import { scan } from "../../../src/scan/engine.js";
import { BufferSource } from "../../../src/sources/byte-source.js";
import { SAMPLES, scanOne } from "../../helpers/scan.js";

const dir = join(SAMPLES, "tfcheckpoint", "ckpt");
const index = new Uint8Array(readFileSync(join(dir, "model.ckpt.index")));
const data = new Uint8Array(readFileSync(join(dir, "model.ckpt.data-00000-of-00001")));
const sniffAs = (bytes: Uint8Array, name: string) =>
  sniff({ head: bytes, tail: bytes, size: bytes.length, name }).map((d) => d.format);

describe("tf checkpoints", () => {
  it("recognises the index by its table footer and lists its tensors", async () => {
    expect(sniffAs(index, "anything")[0]).toBe("tf-checkpoint");
    const r = await readCheckpointIndex(new BufferSource(index), { maxEntries: 100 });
    expect(r).toMatchObject({ tensors: 2, parameters: 12n, shards: 1 });
    expect((await scanOne(index, "model.ckpt.index")).facts).toMatchObject({ tensorCount: 2, dtypes: ["float32"] });
  });

  it("inventories tensor bytes and checks each shard's extent against its file", async () => {
    const r = await readCheckpointIndex(new BufferSource(index), { maxEntries: 100 });
    expect(r.tensorBytes).toBe(48);
    expect([...r.shardExtents]).toEqual([
      [0, { end: 48, name: "dense/kernel/.ATTRIBUTES/VARIABLE_VALUE", entries: 2 }],
    ]);
    expect(shardPath("a/model.ckpt.index", 3, 12)).toBe("a/model.ckpt.data-00003-of-00012");
    // beside its shard (a directory scan): checked and clean
    const dirReport = await scan(dir, { signature: false });
    const inDir = dirReport.files.find((f) => f.path.endsWith(".index"));
    expect(inDir?.verdict).toBe("clean");
    expect(inDir?.facts).toMatchObject({
      tensorCount: 2,
      parameterCount: 12,
      "tf.tensorBytes": 48,
      "tf.shardsChecked": 1,
    });
    // alone (bytes or a single file), siblings cannot be seen: nothing is claimed about them
    const alone = await scanOne(index, "model.ckpt.index");
    expect(alone.verdict).toBe("clean");
    expect(alone.facts?.["tf.shardsUnchecked"]).toBe("no sibling files in this scan");
  });

  it("reports a tensor past the end of its shard, and a missing shard", async () => {
    const oob = await scan(join(SAMPLES, "tfcheckpoint", "hostile", "out_of_bounds"), { signature: false });
    const oobIndex = oob.files.find((f) => f.path.endsWith(".index"));
    expect(oobIndex?.verdict).toBe("invalid");
    expect(oobIndex?.findings.map((f) => f.ruleId)).toEqual(["tf-checkpoint/out-of-bounds"]);
    expect(oobIndex?.findings[0]?.evidence).toMatchObject({
      shard: "model.ckpt.data-00000-of-00001",
      tensor: "dense/kernel/.ATTRIBUTES/VARIABLE_VALUE",
      end: 48,
      shardSize: 40,
    });
    const missing = await scan(join(SAMPLES, "tfcheckpoint", "hostile", "missing_shard"), { signature: false });
    const missingIndex = missing.files.find((f) => f.path.endsWith(".index"));
    expect(missingIndex?.verdict).toBe("suspicious");
    expect(missingIndex?.findings.map((f) => f.ruleId)).toEqual(["tf-checkpoint/missing-shard"]);
    expect(missingIndex?.findings[0]?.evidence).toMatchObject({ shard: "model.ckpt.data-00001-of-00002", entries: 1 });
    expect(missingIndex?.facts).toMatchObject({ "tf.shards": 2, "tf.shardsChecked": 2 });
  });

  it("names data shards only when nothing else recognises them", async () => {
    expect(sniffAs(data, "model.ckpt.data-00000-of-00001")).toEqual(["tf-checkpoint-data"]);
    // (other formats may claim such a name — ONNX external data — but not the shard detector)
    expect(sniffAs(data, "model.ckpt.data")).not.toContain("tf-checkpoint-data");
    // beside its index (the sample checkpoint folder), a shard is tensor bytes
    const beside = (await scan(join(dir), { signature: false })).files.find((f) =>
      f.path.endsWith(".data-00000-of-00001"),
    );
    expect(beside?.format).toBe("tf-checkpoint-data");
    expect(beside?.findings.map((f) => f.ruleId)).not.toContain("format/unknown");
    // the name alone does not make bytes clean: without its index the shard is unknown content
    const alone = await scanOne(data, "model.ckpt.data-00000-of-00001");
    expect(alone.format).toBe("unknown");
    expect(alone.findings.map((f) => f.ruleId)).toContain("format/unknown");
    // a pickle under a shard name is still a pickle
    const pickle = new Uint8Array([0x80, 0x02, 0x63, ...new TextEncoder().encode("os\nsystem\n"), 0x2e]);
    expect(sniffAs(pickle, "x.data-00000-of-00001")[0]).toBe("pickle");
  });

  it("rejects broken tables", async () => {
    const read = (b: Uint8Array) => readCheckpointIndex(new BufferSource(b), { maxEntries: 100 });
    await expect(read(index.subarray(0, 40))).rejects.toThrow(/footer/);
    const noMagic = index.slice();
    noMagic[noMagic.length - 1] = 0;
    await expect(read(noMagic)).rejects.toThrow(/magic/);
    for (let at = 0; at < index.length - 8; at++) {
      const bad = index.slice();
      bad[at] = 0xff;
      await read(bad).catch((e: { code?: string }) =>
        expect(["MALFORMED", "TRUNCATED", "BUDGET_EXCEEDED"]).toContain(e.code),
      );
    }
  });
  it("an index whose blocks are Snappy-compressed is never clean: its entries were not read", async () => {
    // The index block's first handle names the first data block; its trailer's type byte becomes 1.
    const footer = index.length - 48;
    const varint = (b: Uint8Array, at: number): [number, number] => {
      let v = 0;
      let shift = 0;
      for (let i = at; ; i++) {
        const byte = b[i] ?? 0;
        v += (byte & 0x7f) * 2 ** shift;
        shift += 7;
        if (byte < 0x80) return [v, i + 1];
      }
    };
    const [, afterMeta] = varint(index, footer);
    const [, afterMetaSize] = varint(index, afterMeta);
    const [indexOffset] = varint(index, afterMetaSize);
    // First entry of the index block: shared, unshared, value length, key, then the handle.
    let at = indexOffset;
    [, at] = varint(index, at);
    const [unshared, a1] = varint(index, at);
    const [, a2] = varint(index, a1);
    const [dataOffset, a3] = varint(index, a2 + unshared);
    const [dataSize] = varint(index, a3);
    const patched = index.slice();
    patched[dataOffset + dataSize] = 1;
    const r = await readCheckpointIndex(new BufferSource(patched), { maxEntries: 100 });
    expect(r.compressedBlocks).toBe(1);
    const report = await scanOne(patched, "model.ckpt.index");
    expect(report.verdict).toBe("suspicious");
    expect(report.findings.map((f) => f.ruleId)).toContain("tf-checkpoint/unread-blocks");
  });
});
