import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
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

  it("names data shards only when nothing else recognises them", async () => {
    expect(sniffAs(data, "model.ckpt.data-00000-of-00001")).toEqual(["tf-checkpoint-data"]);
    expect(sniffAs(data, "model.ckpt.data")).toEqual([]);
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
});
