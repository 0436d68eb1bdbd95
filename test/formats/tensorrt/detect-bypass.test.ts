/**
 * Ultralytics TensorRT exports as Ultralytics reads them: a whole 32-bit little-endian length, a
 * JSON object of that length (whitespace around it, any size), then the engine. Samples:
 * samples/detect-bypass/tensorrt (struct-built: TensorRT is not installed).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { detectTensorrt, engineStart } from "../../../src/formats/tensorrt/index.js";
import { ruleIds, SAMPLES, scanOne } from "../../helpers/scan.js";

const sample = (p: string) => new Uint8Array(readFileSync(join(SAMPLES, "detect-bypass", "tensorrt", p)));
const enc = (s: string) => new Uint8Array(Buffer.from(s, "latin1"));
const le32 = (n: number) => String.fromCharCode(n & 255, (n >> 8) & 255, (n >> 16) & 255, (n >>> 24) & 255);
const withMeta = (meta: string, rest: string) => enc(le32(meta.length) + meta + rest);
/** Sniffs as the engine does: the first 64 KiB and the last 64 KiB + 57. */
const detect = (b: Uint8Array) =>
  detectTensorrt({
    head: b.subarray(0, 65536),
    tail: b.subarray(Math.max(0, b.length - 65593)),
    size: b.length,
    name: "x",
  });

describe("tensorrt detection of Ultralytics metadata", () => {
  it("accepts JSON whitespace around the object", () => {
    expect(detect(withMeta(' {"a": 1}\n', "ftrt\0\0\0\0"))?.reason).toContain("ftrt");
    expect(detect(withMeta('\r\n\t{"a": 1} \r\n', "ptrt\0\0\0\0"))?.reason).toContain("ptrt");
  });

  it("refuses what json.loads or TensorRT refuses", () => {
    expect(detect(withMeta('{"a": 1}x', "ftrt\0\0\0\0"))).toBeUndefined();
    expect(detect(withMeta('\ufeff{"a": 1}', "ftrt\0\0\0\0"))).toBeUndefined();
    expect(detect(withMeta('{"a":\x01 1}', "ftrt\0\0\0\0"))).toBeUndefined();
    expect(detect(withMeta('{"a": 1}', "GGUF\0\0\0\0"))).toBeUndefined();
    expect(detect(enc(`${le32(0x7fffffff)}{"a": 1}ftrt`))).toBeUndefined();
  });

  it("reads the whole 32-bit length and finds the tag in the tail", () => {
    const meta = `{"names": "${"a".repeat(70_000)}"}`;
    const found = detect(withMeta(meta, `ftrt${"\0".repeat(100)}`));
    expect(found?.reason).toContain(`ftrt) after ${meta.length} bytes`);
    expect(detect(withMeta(meta, `GGUF${"\0".repeat(100)}`))).toBeUndefined();
  });

  it("accepts the opening alone when the tag lies between the head and the tail", () => {
    const meta = `{"names": "${"a".repeat(70_000)}"}`;
    const bytes = withMeta(meta, `ftrt${"\0".repeat(70_000)}`);
    expect(detect(bytes)?.reason).toContain("beyond the sniffed bytes");
    expect(engineStart(bytes.subarray(0, 65536), bytes.length)).toEqual({
      start: 4 + meta.length,
      metadata: meta.length,
    });
    // Text after a length field is not JSON metadata when it holds control bytes.
    const binary = withMeta(`{"a": "${"\x02".repeat(70_000)}"}`, `ftrt${"\0".repeat(70_000)}`);
    expect(detect(binary)).toBeUndefined();
  });
});

describe("tensorrt scans of Ultralytics exports", () => {
  it.each(["big-metadata.engine", "spaced-metadata.engine"])(
    "%s is an engine and its ELF image is found",
    async (name) => {
      const file = await scanOne(sample(name), "yolo.bin");
      expect(file.format).toBe("tensorrt");
      expect(ruleIds(file)).toEqual(expect.arrayContaining(["tensorrt/opaque-engine", "tensorrt/embedded-library"]));
      expect(file.verdict).toBe("malicious");
      expect(file.members?.map((m) => m.format)).toEqual(["json"]);
    },
  );

  it("metadata with no engine after it is reported low, its JSON still read", async () => {
    const file = await scanOne(sample("metadata-without-engine.bin"), "x.bin");
    expect(ruleIds(file)).toEqual(["tensorrt/no-engine"]);
    expect(file.verdict).toBe("suspicious");
    expect(file.members?.map((m) => m.format)).toEqual(["json"]);
  });
});
