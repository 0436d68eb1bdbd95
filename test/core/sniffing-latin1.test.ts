import { describe, expect, it } from "vitest";
import { latin1 } from "../../src/core/sniffing.js";

describe("latin1", () => {
  it("maps every byte to the code point of the same value (not windows-1252)", () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    const text = latin1(all);
    expect(text.length).toBe(256);
    for (let i = 0; i < 256; i++) expect(text.charCodeAt(i)).toBe(i);
    // What TextDecoder("latin1") would have given for 0x80.
    expect(text.charCodeAt(0x80)).not.toBe(0x20ac);
  });

  it("decodes a view at its own offset and length", () => {
    const buf = Uint8Array.from([0x41, 0x9f, 0x42, 0x43]);
    expect(latin1(buf.subarray(1, 3))).toBe("\u009fB");
  });
});
