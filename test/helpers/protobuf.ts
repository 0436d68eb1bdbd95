/**
 * A minimal protobuf writer for tests that build messages by field number (Paddle programs, ONNX
 * models, ...): varints, varint fields and length-delimited fields, as number arrays.
 */
const enc = new TextEncoder();

/** A base-128 varint (negative numbers as their 64-bit two's complement, as protobuf writes int64). */
export function varint(n: number | bigint): number[] {
  let v = BigInt(n);
  if (v < 0n) v += 1n << 64n;
  const out: number[] = [];
  do {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v > 0n ? byte | 0x80 : byte);
  } while (v > 0n);
  return out;
}

/** A varint field (wire type 0). */
export const vfield = (num: number, value: number | bigint): number[] => [...varint(num << 3), ...varint(value)];

/** A length-delimited field (wire type 2) holding bytes or UTF-8 text. */
export const lfield = (num: number, payload: readonly number[] | Uint8Array | string): number[] => {
  const bytes = typeof payload === "string" ? [...enc.encode(payload)] : [...payload];
  return [...varint((num << 3) | 2), ...varint(bytes.length), ...bytes];
};
