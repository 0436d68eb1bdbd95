import { describe, expect, it } from "vitest";
import { BufferSource } from "../../../src/core/byte-source.js";
import { type WireVisitor, WireWalker } from "../../../src/formats/protobuf/walk.js";

/** Encodes a varint of a (possibly negative) 64-bit value, as protobuf writes int32/int64. */
function varint(value: bigint): number[] {
  let v = BigInt.asUintN(64, value);
  const out: number[] = [];
  do {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v === 0n ? b : b | 0x80);
  } while (v !== 0n);
  return out;
}

async function varints(values: readonly bigint[]): Promise<number[]> {
  const bytes = values.flatMap((v) => [0x08, ...varint(v)]); // field 1, wire type 0
  const seen: number[] = [];
  const visitor: WireVisitor = {
    enter() {},
    exit() {},
    string() {},
    leaf() {},
    blob() {},
    varint: (_m, _f, value) => seen.push(value),
  };
  await new WireWalker(new BufferSource(new Uint8Array(bytes)), visitor).walk({
    name: "M",
    fields: { 1: { kind: "varint" } },
  });
  return seen;
}

describe("WireWalker varints", () => {
  it("reads negative int32/int64 values exactly (two's complement over 10 bytes)", async () => {
    expect(await varints([-1n, -2n, -(2n ** 31n), -(2n ** 40n) - 3n])).toEqual([-1, -2, -(2 ** 31), -(2 ** 40) - 3]);
  });

  it("reads non-negative values exactly below 2^53", async () => {
    expect(await varints([0n, 1n, 300n, 2n ** 32n + 5n, 2n ** 53n - 1n])).toEqual([
      0,
      1,
      300,
      2 ** 32 + 5,
      2 ** 53 - 1,
    ]);
  });
});
