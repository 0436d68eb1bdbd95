/** Protocol 0 and LONG literal parsing keeps CPython's semantics (the engine and the sniffer share it). */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { acceptsLine, twosComplement } from "../../../src/formats/pickle/literals.js";

/** int.from_bytes(b, 'little', signed=True), normalised as the engine does. */
function reference(b: Uint8Array): number | bigint {
  if (b.length === 0) return 0;
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i] as number);
  if (((b[b.length - 1] as number) & 0x80) !== 0) v -= 1n << BigInt(8 * b.length);
  const safe = BigInt(Number.MAX_SAFE_INTEGER);
  return v >= -safe && v <= safe ? Number(v) : v;
}

describe("LONG1/LONG4 integers", () => {
  it("decode as int.from_bytes(signed=True), numbers when safe", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 12 }), (b) => {
        expect(twosComplement(b, 0, b.length)).toEqual(reference(b));
      }),
      { seed: 20261206, numRuns: 20_000 },
    );
    const edge = (hex: string) => Uint8Array.from(Buffer.from(hex, "hex"));
    for (const h of [
      "ffffffffffff1f00",
      "0000000000002000",
      "000000000000e0ff",
      "ffffffffffffdfff",
      "ff",
      "80",
      "0080",
    ]) {
      expect(twosComplement(edge(h), 0, h.length / 2)).toEqual(reference(edge(h)));
    }
  });
});

describe("number lines", () => {
  it("accept what load_int, load_long and load_float accept (NUL ends the line)", () => {
    expect(acceptsLine("I", "01")).toBe(true);
    expect(acceptsLine("I", "12\u0000junk")).toBe(true);
    expect(acceptsLine("I", "x")).toBe(false);
    expect(acceptsLine("L", "12L")).toBe(true);
    expect(acceptsLine("F", "1.5\u0000x")).toBe(true);
    expect(acceptsLine("F", "nan")).toBe(true);
    expect(acceptsLine("F", "1.5x")).toBe(false);
  });
});
