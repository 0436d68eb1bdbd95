/**
 * msgpack-numpy files are detected by content, whatever their name: msgpack_numpy.decode unpickles
 * any map with `nd` True and kind `O`, at any depth, so a `.bin` or `.mpk` holding one must be read.
 * Samples: samples/detect-bypass/msgpack-numpy (written by msgpack and msgpack_numpy).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { walkMsgpackHead } from "../../../src/formats/msgpack/index.js";
import { sniff } from "../../../src/registry/catalog.js";
import { ruleIds, SAMPLES, scanOne } from "../../helpers/scan.js";

const sample = (p: string) => new Uint8Array(readFileSync(join(SAMPLES, "detect-bypass", "msgpack-numpy", p)));
const sniffAs = (bytes: Uint8Array, name: string) =>
  sniff({ head: bytes.subarray(0, 65536), tail: bytes, size: bytes.length, name }).map((d) => d.format);
/** fixstr / bin8 */
const str = (s: string) => [0xa0 | s.length, ...Buffer.from(s)];
const bin = (s: string) => [0xc4, s.length, ...Buffer.from(s)];
const walk = (bytes: number[], size = bytes.length) => walkMsgpackHead(Uint8Array.from(bytes), size);

describe("msgpack head walk", () => {
  it("finds the nd key with a boolean value at any depth, as bytes or str", () => {
    expect(walk([0x81, ...bin("nd"), 0xc3])?.numpy).toBe(true);
    expect(walk([0x81, ...str("a"), 0x92, 0x01, 0x81, ...str("nd"), 0xc2])?.numpy).toBe(true);
    expect(walk([0x93, 0x01, ...str("x"), 0x91, 0x81, ...bin("nd"), 0xc3])?.numpy).toBe(true);
  });

  it("does not take nd as a value, or nd with a non-boolean value", () => {
    expect(walk([0x82, ...str("k"), ...bin("nd"), ...str("v"), 0xc3])?.numpy).toBe(false);
    expect(walk([0x81, ...bin("nd"), 0x01])?.numpy).toBe(false);
  });

  it("stops at the reserved byte or a length past the file", () => {
    expect(walk([0x81, ...str("a"), 0xc1])).toBeUndefined();
    expect(walk([0x81, ...str("a"), 0xc6, 0, 0, 0, 9])).toBeUndefined();
    expect(walk([0xdf, 0xff, 0xff, 0xff, 0xff])).toBeUndefined();
  });

  it("reports a payload running past the head, and the keys read before it", () => {
    const w = walk([0x81, ...str("a"), 0xc6, 0, 1, 0, 0], 70_000);
    expect(w).toMatchObject({ crossed: true, keys: 1, stringKeys: true, numpy: false });
    expect(walk([0x81, 0x01, 0xc6, 0, 1, 0, 0], 70_000)).toMatchObject({ crossed: true, stringKeys: false });
  });
});

describe("msgpack-numpy detection by content", () => {
  it.each(["object-array.bin", "object-array.mpk", "in-list.bin", "str-keys.bin", "behind-blob.bin"])(
    "%s is msgpack whatever its name, and its object array is reported",
    async (name) => {
      const bytes = sample(name);
      expect(sniffAs(bytes, name)[0]).toBe("flax-msgpack");
      expect(sniffAs(bytes, "weights")[0]).toBe("flax-msgpack");
      const file = await scanOne(bytes, name);
      expect(file.format).toBe("flax-msgpack");
      expect(ruleIds(file)).toContain("msgpack/object-array");
      expect(ruleIds(file)).not.toContain("format/unknown");
      expect(file.verdict).toBe("malicious");
    },
  );

  it("an object array read before a grammar break is still reported (the hook ran on it)", async () => {
    const file = await scanOne(sample("break-after.bin"), "state.bin");
    expect(ruleIds(file)).toEqual(expect.arrayContaining(["msgpack/object-array", "msgpack/malformed"]));
    expect(file.verdict).toBe("malicious");
  });

  it("a float array written by msgpack_numpy is read and clean", async () => {
    const file = await scanOne(sample("float-array.bin"), "state.bin");
    expect(file).toMatchObject({ format: "flax-msgpack", verdict: "clean" });
  });

  it("leaves other containers alone: integer keys, pickles", () => {
    // A keyless array whose tokens run valid into a payload past the head is msgpack (an array
    // `[bin(70000), {nd: True, ...}]` runs under msgpack-numpy): test/formats/msgpack/stream.test.ts.
    const intKeys = new Uint8Array(70_000);
    intKeys.set([0x81, 0x01, 0xc6, 0, 1, 0, 0]);
    expect(sniffAs(intKeys, "x.bin")).not.toContain("flax-msgpack");
    // A whole small map without msgpack-numpy keys is not claimed without a .msgpack name.
    expect(sniffAs(Uint8Array.from([0x81, ...str("a"), 0x01]), "x.bin")).not.toContain("flax-msgpack");
    expect(sniffAs(Uint8Array.from([0x80, 0x02, 0x4e, 0x2e]), "x.bin")[0]).toBe("pickle");
  });
});
