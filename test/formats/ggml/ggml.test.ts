import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { detectGgml } from "../../../src/formats/ggml/index.js";
import { readGgml } from "../../../src/formats/ggml/reader.js";
import { BufferSource } from "../../../src/sources/byte-source.js";
import { ruleIds, SAMPLES, scanOne } from "../../helpers/scan.js";

const sample = (p: string) => new Uint8Array(readFileSync(join(SAMPLES, "ggml", p)));

/** A ggjt file with the llama layout and the given tensors ([n_dims, type, dims, name]). */
function ggjt(version: number, tensors: [number, number[], string, number][]): Uint8Array {
  const parts: Buffer[] = [];
  const i32 = (...v: number[]) => {
    const b = Buffer.alloc(4 * v.length);
    v.forEach((x, i) => {
      b.writeInt32LE(x, 4 * i);
    });
    parts.push(b);
  };
  const len = () => parts.reduce((a, b) => a + b.length, 0);
  i32(0x67676a74, version, 1, 32, 256, 2, 1, 16, 0);
  i32(1);
  parts.push(Buffer.from("a"));
  parts.push(Buffer.alloc(4)); // score
  for (const [type, dims, name, dataBytes] of tensors) {
    i32(dims.length, name.length, type, ...dims);
    parts.push(Buffer.from(name));
    parts.push(Buffer.alloc((32 - (len() % 32)) % 32));
    parts.push(Buffer.alloc(dataBytes));
  }
  return new Uint8Array(Buffer.concat(parts));
}

describe("ggml reader", () => {
  it("reads the llama.cpp and whisper.cpp layouts", async () => {
    const v3 = await readGgml(new BufferSource(sample("benign/llama-ggjt-v3.bin")));
    expect(v3).toMatchObject({ magic: "ggjt", version: 3, layout: "llama", vocabulary: 6 });
    expect(v3.tensors.map((t) => t.type)).toEqual(["Q4_0", "F32", "Q4_0"]);
    // Q4_0 blocks were 20 bytes before ggjt v3, 18 after
    const v1 = await readGgml(new BufferSource(sample("benign/llama-ggjt-v1.bin")));
    expect(v1.tensors[0]?.dataBytes).toBe((32 * 6 * 20) / 32);
    expect(v3.tensors[0]?.dataBytes).toBe((32 * 6 * 18) / 32);
    const whisper = await readGgml(new BufferSource(sample("benign/ggml-tiny-whisper.bin")));
    expect(whisper).toMatchObject({ magic: "ggml", version: 0, layout: "whisper", vocabulary: 4 });
    expect((await readGgml(new BufferSource(sample("benign/llama-unversioned.bin")))).layout).toBe("llama");
  });

  it("rejects malformed tensor headers", async () => {
    const read = (b: Uint8Array) => readGgml(new BufferSource(b));
    await expect(read(ggjt(3, [[0, [4], "w", 16]]))).resolves.toMatchObject({ tensors: [{ name: "w" }] });
    await expect(read(ggjt(3, [[0, [4, 1, 1, 1, 1], "w", 16]]))).rejects.toThrow(/5 dimensions/);
    await expect(read(ggjt(3, [[0, [0], "w", 0]]))).rejects.toThrow(/dimension 0/);
    await expect(read(ggjt(3, [[99, [4], "w", 16]]))).rejects.toThrow(/type 99/);
    // k-quants did not exist in ggjt v1, Q4_2 no longer in v3
    await expect(read(ggjt(1, [[12, [256], "w", 144]]))).rejects.toThrow(/type 12/);
    await expect(read(ggjt(3, [[4, [16], "w", 10]]))).rejects.toThrow(/type 4/);
    await expect(read(ggjt(3, [[2, [31], "w", 18]]))).rejects.toThrow(/block/);
    await expect(read(ggjt(3, [[0, [1 << 20, 1 << 20], "w", 0]]))).rejects.toMatchObject({ code: "TRUNCATED" });
    await expect(read(ggjt(7, []))).rejects.toThrow(/version 7/);
    const dup = await read(
      ggjt(3, [
        [0, [1], "w", 4],
        [0, [1], "w", 4],
      ]),
    );
    expect(dup.issues.map((i) => i.ruleId)).toEqual(["ggml/duplicate-tensor"]);
  });

  it("detects by magic whatever the name", () => {
    const head = sample("benign/llama-ggmf.bin");
    expect(detectGgml({ head, tail: head, size: head.length, name: "ggml-model-f16.bin" })?.reason).toContain("ggmf");
    const gguf = new TextEncoder().encode("GGUF\x03\x00\x00\x00");
    expect(detectGgml({ head: gguf, tail: gguf, size: 8, name: "x.ggml" })).toBeUndefined();
  });

  it("scans: clean with facts, malformed invalid, junk .ggml invalid", async () => {
    const ok = await scanOne(sample("benign/llama-ggjt-v3.bin"), "ggml-model-q4_0.bin");
    expect(ok).toMatchObject({ format: "ggml", verdict: "clean" });
    expect(ok.facts).toMatchObject({ tensorCount: 3, dtypes: ["F32", "Q4_0"], "ggml.version": 3 });
    const bad = await scanOne(sample("invalid/truncated.bin"), "model.bin");
    expect(bad.verdict).toBe("invalid");
    expect(ruleIds(bad)).toContain("ggml/malformed");
    const junk = await scanOne(new TextEncoder().encode("\x01\x02\x03\x04 not ggml"), "model.ggml");
    expect(junk.verdict).toBe("invalid");
  });
});
