/**
 * Flax checkpoints under the names flax.serialization is handed besides `.msgpack`: `.flax`,
 * `.jax`, `.orbax`. A msgpack map or array header is enough there (msgpack has no magic); the
 * content still decides.
 */
import { describe, expect, it } from "vitest";
import { sniff } from "../../../src/registry/catalog.js";
import { ruleIds, scanOne } from "../../helpers/scan.js";

/** fixstr */
const str = (s: string) => [0xa0 | s.length, ...Buffer.from(s)];
const sniffAs = (bytes: Uint8Array, name: string) =>
  sniff({ head: bytes, tail: bytes, size: bytes.length, name }).map((d) => d.format);

describe("Flax checkpoint names", () => {
  const map = Uint8Array.from([0x81, ...str("test"), ...str("value")]);

  it("routes a msgpack map under .flax, .jax and .orbax to the msgpack analyzer", async () => {
    for (const name of ["model.flax", "model.jax", "ckpt.orbax", "CKPT.FLAX"]) {
      expect(sniffAs(map, name)[0], name).toBe("flax-msgpack");
      const file = await scanOne(map, name);
      expect(file.format).toBe("flax-msgpack");
      expect(file.verdict).toBe("clean");
    }
    expect(sniffAs(map, "model.bin")).not.toContain("flax-msgpack");
  });

  it("content still decides: text under a Flax name is not msgpack", async () => {
    const text = new TextEncoder().encode("not a checkpoint\n");
    expect(sniffAs(text, "model.flax")).not.toContain("flax-msgpack");
    const file = await scanOne(text, "model.jax");
    expect(ruleIds(file)).toContain("format/extension-mismatch");
  });
});
