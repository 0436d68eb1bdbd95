/**
 * Byte-level mutations in the spirit of libFuzzer/AFL havoc: flips, interesting integers in both
 * byte orders, arithmetic on length fields, deletions, insertions, duplications, crossover with
 * another input, dictionary tokens and numbers inside text. Deterministic for a given {@link Rng}.
 */
import type { Rng } from "./rng.js";

const INTERESTING_8 = [0, 1, 0x7f, 0x80, 0xff, 0x10, 0x20, 0x40, 0x64];
const INTERESTING_16 = [0, 0x80, 0xff, 0x100, 0x200, 0x3e8, 0x400, 0x7fff, 0x8000, 0xffff];
const INTERESTING_32 = [
  0, 1, 0x7f, 0xff, 0x1000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x00100000, 0x3fffffff,
];
const INTERESTING_64: readonly bigint[] = [
  0n,
  0x7fffffffffffffffn,
  0x8000000000000000n,
  0xffffffffffffffffn,
  0x20000000000000n, // 2^53
  0x1fffffffffffffn,
  0x100000000n,
  0xffffffffn,
];
const NUMBERS_IN_TEXT = [
  "0",
  "-1",
  "1e308",
  "-0",
  "9007199254740993",
  "18446744073709551615",
  "4294967296",
  "2147483648",
  "1e-400",
  "NaN",
  "Infinity",
  "99999999999999999999999",
];

/** What a target tells the mutator. */
export interface MutationContext {
  /** Target-specific tokens (magic numbers, keywords, opcodes). */
  readonly dictionary: readonly Uint8Array[];
  /** Other inputs to cross over with. */
  readonly others: () => Uint8Array | undefined;
  /** Outputs are cut to this many bytes (at least the parent's size). */
  readonly maxSize: number;
}

type Mutator = (b: Uint8Array, rng: Rng, ctx: MutationContext) => Uint8Array;

const insert = (b: Uint8Array, at: number, chunk: Uint8Array): Uint8Array => {
  const out = new Uint8Array(b.length + chunk.length);
  out.set(b.subarray(0, at));
  out.set(chunk, at);
  out.set(b.subarray(at), at + chunk.length);
  return out;
};
const overwrite = (b: Uint8Array, at: number, chunk: Uint8Array): Uint8Array => {
  const out = new Uint8Array(Math.max(b.length, at + chunk.length));
  out.set(b);
  out.set(chunk, at);
  return out;
};
const pos = (b: Uint8Array, rng: Rng) => rng.below(b.length);
const copy = (b: Uint8Array) => new Uint8Array(b);

function intBytes(value: bigint, width: number, littleEndian: boolean): Uint8Array {
  const out = new Uint8Array(width);
  let v = BigInt.asUintN(width * 8, value);
  for (let i = 0; i < width; i++) {
    out[littleEndian ? i : width - 1 - i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}
function readInt(b: Uint8Array, at: number, width: number, littleEndian: boolean): bigint {
  let v = 0n;
  for (let i = 0; i < width; i++) v = (v << 8n) | BigInt(b[littleEndian ? at + width - 1 - i : at + i] ?? 0);
  return v;
}

const MUTATORS: readonly Mutator[] = [
  // flip one bit
  (b, rng) => {
    if (b.length === 0) return Uint8Array.of(rng.below(256));
    const out = copy(b);
    const i = pos(b, rng);
    out[i] = (out[i] as number) ^ (1 << rng.below(8));
    return out;
  },
  // random byte
  (b, rng) => {
    if (b.length === 0) return Uint8Array.of(rng.below(256));
    const out = copy(b);
    out[pos(b, rng)] = rng.below(256);
    return out;
  },
  // interesting byte
  (b, rng) => {
    if (b.length === 0) return Uint8Array.of(rng.pick(INTERESTING_8));
    const out = copy(b);
    out[pos(b, rng)] = rng.pick(INTERESTING_8);
    return out;
  },
  // interesting 16/32/64-bit integer, either byte order (also "input length" and neighbours)
  (b, rng) => {
    const width = rng.pick([2, 4, 4, 8]);
    let value: bigint;
    const r = rng.below(4);
    if (r === 0) value = BigInt(b.length + rng.int(-8, 8));
    else if (width === 2) value = BigInt(rng.pick(INTERESTING_16));
    else if (width === 4) value = BigInt(rng.pick(INTERESTING_32));
    else value = rng.pick(INTERESTING_64);
    if (rng.chance(0.2)) value = -value;
    return overwrite(
      b,
      b.length === 0 ? 0 : rng.below(Math.max(1, b.length - width + 1)),
      intBytes(value, width, rng.chance(0.7)),
    );
  },
  // arithmetic on an integer in place
  (b, rng) => {
    const width = rng.pick([1, 2, 4, 8]);
    if (b.length < width) return copy(b);
    const at = rng.below(b.length - width + 1);
    const le = rng.chance(0.7);
    const delta = BigInt(rng.int(1, 35)) * (rng.chance(0.5) ? 1n : -1n);
    return overwrite(b, at, intBytes(readInt(b, at, width, le) + delta, width, le));
  },
  // delete a range
  (b, rng) => {
    if (b.length < 2) return copy(b);
    const at = pos(b, rng);
    const n = rng.smallSize(b.length - at);
    const out = new Uint8Array(b.length - n);
    out.set(b.subarray(0, at));
    out.set(b.subarray(at + n), at);
    return out;
  },
  // insert random bytes or a run of one byte
  (b, rng) => {
    const n = rng.smallSize(128);
    const chunk = new Uint8Array(n);
    if (rng.chance(0.5)) chunk.fill(rng.pick([0, 0xff, rng.below(256)]));
    else for (let i = 0; i < n; i++) chunk[i] = rng.below(256);
    return insert(b, rng.below(b.length + 1), chunk);
  },
  // duplicate a range of the input elsewhere (insert or overwrite)
  (b, rng) => {
    if (b.length === 0) return copy(b);
    const from = pos(b, rng);
    const n = rng.smallSize(Math.min(4096, b.length - from));
    const chunk = b.slice(from, from + n);
    const to = rng.below(b.length + 1);
    return rng.chance(0.5) ? insert(b, to, chunk) : overwrite(b, Math.min(to, b.length - 1), chunk);
  },
  // repeat a range many times (amplifies loops: nesting, entries)
  (b, rng) => {
    if (b.length === 0) return copy(b);
    const from = pos(b, rng);
    const n = rng.smallSize(Math.min(64, b.length - from));
    const times = rng.int(2, 256);
    const chunk = new Uint8Array(n * times);
    for (let i = 0; i < times; i++) chunk.set(b.subarray(from, from + n), i * n);
    return insert(b, from, chunk);
  },
  // crossover: a chunk of another input
  (b, rng, ctx) => {
    const other = ctx.others();
    if (other === undefined || other.length === 0) return copy(b);
    const from = rng.below(other.length);
    const chunk = other.slice(from, from + rng.smallSize(other.length - from));
    const to = rng.below(b.length + 1);
    return rng.chance(0.5) ? insert(b, to, chunk) : overwrite(b, Math.min(to, Math.max(0, b.length - 1)), chunk);
  },
  // splice: head of this input, tail of another
  (b, rng, ctx) => {
    const other = ctx.others();
    if (other === undefined) return copy(b);
    const cut = rng.below(b.length + 1);
    const from = rng.below(other.length + 1);
    const out = new Uint8Array(cut + other.length - from);
    out.set(b.subarray(0, cut));
    out.set(other.subarray(from), cut);
    return out;
  },
  // dictionary token, inserted or overwritten
  (b, rng, ctx) => {
    if (ctx.dictionary.length === 0) return copy(b);
    const token = rng.pick(ctx.dictionary);
    const at = rng.below(b.length + 1);
    return rng.chance(0.5) ? insert(b, at, token) : overwrite(b, Math.min(at, Math.max(0, b.length - 1)), token);
  },
  // truncate
  (b, rng) => (b.length === 0 ? copy(b) : b.slice(0, rng.below(b.length))),
  // swap two ranges' bytes
  (b, rng) => {
    if (b.length < 2) return copy(b);
    const out = copy(b);
    const n = rng.smallSize(16);
    const i = rng.below(b.length);
    const j = rng.below(b.length);
    for (let k = 0; k < n && i + k < b.length && j + k < b.length; k++) {
      const t = out[i + k] as number;
      out[i + k] = out[j + k] as number;
      out[j + k] = t;
    }
    return out;
  },
  // replace a decimal number in text with an interesting one
  (b, rng) => {
    const starts: number[] = [];
    for (let i = 0; i < b.length && starts.length < 256; i++) {
      const c = b[i] as number;
      const prev = b[i - 1] ?? 0;
      if (c >= 0x30 && c <= 0x39 && !(prev >= 0x30 && prev <= 0x39)) starts.push(i);
    }
    if (starts.length === 0) return copy(b);
    const at = rng.pick(starts);
    let end = at;
    while (end < b.length && (b[end] as number) >= 0x30 && (b[end] as number) <= 0x39) end++;
    const num = new TextEncoder().encode(rng.pick(NUMBERS_IN_TEXT));
    const out = new Uint8Array(b.length - (end - at) + num.length);
    out.set(b.subarray(0, at));
    out.set(num, at);
    out.set(b.subarray(end), at + num.length);
    return out;
  },
];

/**
 * Applies a stack of 1–8 random mutations.
 * @param input - the parent (not modified)
 * @param rng - the random source
 * @param ctx - dictionary, crossover partners and size cap
 */
export function mutate(input: Uint8Array, rng: Rng, ctx: MutationContext): Uint8Array {
  let out = input;
  const depth = 1 << rng.below(4);
  for (let i = 0; i < depth; i++) {
    out = rng.pick(MUTATORS)(out, rng, ctx);
    const cap = Math.max(ctx.maxSize, input.length);
    if (out.length > cap) out = out.subarray(0, cap);
  }
  return out === input ? new Uint8Array(input) : out;
}

/** Encodes dictionary tokens given as strings (latin1, so `\xNN` escapes are single bytes) or bytes. */
export function tokens(...items: (string | Uint8Array)[]): Uint8Array[] {
  return items.map((t) => (typeof t === "string" ? Uint8Array.from(t, (c) => c.charCodeAt(0) & 0xff) : t));
}
