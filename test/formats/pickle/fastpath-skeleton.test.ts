/**
 * The fast path's item skeletons (a batch's items counted by matching the opcodes of the item
 * before them) change nothing the analysis reports: batches of items made alike from one random
 * template (tuples, lists, strs, LONG1, memo puts), whose payloads vary where the counting depends
 * on them (int widths, str and LONG1 lengths, dunder, non-ASCII and invalid strs, memo indexes)
 * and cut by frames and buffers of every size, are analysed identically with and without the fast
 * path.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { PickleAnalysis } from "../../../src/formats/pickle/analyze.js";
import { PyDict, preview } from "../../../src/formats/pickle/values.js";
import {
  analysisSummary,
  fastPathAnalysis as fast,
  type StreamOptions as Options,
  op,
  referenceAnalysis as slow,
} from "./helpers.js";

// ---------------------------------------------------------------- item templates

/** A slot of an item template. */
type Slot =
  | { t: "int" }
  | { t: "float" }
  | { t: "const" }
  | { t: "str"; len: number }
  | { t: "long"; len: number }
  | { t: "memo" }
  | { t: "tuple"; items: Slot[]; marked: boolean }
  | { t: "list"; items: Slot[]; appends: boolean; put: boolean };

const leaf: fc.Arbitrary<Slot> = fc.oneof(
  fc.constant<Slot>({ t: "int" }),
  fc.constant<Slot>({ t: "float" }),
  fc.constant<Slot>({ t: "const" }),
  fc.integer({ min: 0, max: 15 }).map((len): Slot => ({ t: "str", len })),
  fc.integer({ min: 0, max: 9 }).map((len): Slot => ({ t: "long", len })),
);
const withMemo = (a: fc.Arbitrary<Slot>) =>
  fc.tuple(a, fc.boolean()).map(([s, m]): Slot[] => (m ? [s, { t: "memo" }] : [s]));
const tupleSlot: fc.Arbitrary<Slot> = fc
  .tuple(fc.array(withMemo(leaf), { maxLength: 4 }), fc.boolean())
  .map(([xs, marked]): Slot => {
    const items = xs.flat();
    const n = xs.length;
    return { t: "tuple", items, marked: marked || n === 0 || n > 3 };
  });
const listSlot: fc.Arbitrary<Slot> = fc
  .tuple(fc.array(withMemo(fc.oneof(leaf, tupleSlot)), { maxLength: 4 }), fc.boolean(), fc.boolean())
  .map(([xs, appends, put]): Slot => ({ t: "list", items: xs.flat(), appends, put }));
/** An item: one to three top-level slots (a dict's key and value, say), each maybe memoised. */
const template = fc.array(withMemo(fc.oneof({ weight: 3, arbitrary: leaf }, tupleSlot, listSlot)), {
  minLength: 1,
  maxLength: 3,
});

/** Writes items from a template, varying their payloads with a small PRNG (see below). */
class Writer {
  readonly out: number[] = [];
  readonly memo = new Set<number>();
  #state: number;
  constructor(
    seed: number,
    readonly vary: number,
  ) {
    this.#state = seed >>> 0 || 1;
  }
  /** Uniform in [0, 1). */
  rand(): number {
    // xorshift32
    let x = this.#state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#state = x >>> 0;
    return this.#state / 2 ** 32;
  }
  /** True with probability `vary` (payload variations the skeleton must notice). */
  odd(): boolean {
    return this.rand() < this.vary;
  }
  u32(code: number, n: number): void {
    this.out.push(code, n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
  }
  put(): void {
    const size = this.memo.size;
    const r = this.rand();
    let i = size;
    if (this.odd()) i = Math.floor(this.rand() * (size + 3));
    if (r < 0.6 && i === size) this.out.push(0x94);
    else if (i < 256 && r < 0.8) this.out.push(0x71, i);
    else this.u32(0x72, i);
    this.memo.add(i);
  }
  slot(s: Slot): void {
    switch (s.t) {
      case "int": {
        const wide = this.odd() ? Math.floor(this.rand() * 3) : 2;
        if (wide === 0) this.out.push(0x4b, Math.floor(this.rand() * 256));
        else if (wide === 1) this.out.push(0x4d, Math.floor(this.rand() * 256), Math.floor(this.rand() * 256));
        else this.u32(0x4a, Math.floor(this.rand() * 2 ** 32));
        break;
      }
      case "float": {
        const b = Buffer.alloc(9);
        b[0] = 0x47;
        b.writeDoubleBE(this.rand() * 1000 - 500, 1);
        this.out.push(...b);
        break;
      }
      case "const":
        this.out.push(this.odd() ? 0x88 : 0x4e);
        break;
      case "str": {
        const len = this.odd() ? Math.floor(this.rand() * 17) : s.len;
        const text: number[] = [];
        for (let i = 0; i < len; i++) text.push(0x61 + Math.floor(this.rand() * 26));
        if (len >= 2 && this.odd()) text[0] = text[1] = 0x5f; // dunder
        if (len >= 2 && this.odd()) [text[0], text[1]] = [0xc3, 0xa9]; // é
        if (len >= 1 && this.odd()) text[len - 1] = 0xff; // invalid UTF-8
        if (this.odd()) this.u32(0x58, len);
        else this.out.push(0x8c, len);
        this.out.push(...text);
        break;
      }
      case "long": {
        const len = this.odd() ? Math.floor(this.rand() * 10) : s.len;
        this.out.push(0x8a, len);
        for (let i = 0; i < len; i++) this.out.push(Math.floor(this.rand() * 256));
        break;
      }
      case "memo":
        this.put();
        break;
      case "tuple": {
        const n = s.items.filter((x) => x.t !== "memo").length;
        if (s.marked) this.out.push(0x28);
        for (const x of s.items) this.slot(x);
        this.out.push(s.marked ? 0x74 : 0x84 + n);
        break;
      }
      case "list": {
        this.out.push(0x5d);
        if (s.put) this.put();
        if (s.appends) {
          this.out.push(0x28);
          for (const x of s.items) this.slot(x);
          this.out.push(0x65);
        } else {
          for (const x of s.items) {
            this.slot(x);
            if (x.t !== "memo") this.out.push(0x61);
          }
        }
        break;
      }
    }
  }
}

const stream = fc.record({
  template,
  seed: fc.integer(),
  vary: fc.constantFrom(0, 0, 0.02, 0.2),
  batches: fc.array(fc.integer({ min: 0, max: 80 }), { minLength: 1, maxLength: 4 }),
  container: fc.constantFrom(0x5d, 0x5d, 0x7d, 0x8f),
  frames: fc.boolean(),
});
const budgets = fc.record({
  containerCap: fc.integer({ min: 0, max: 3 }),
  memoDetailCap: fc.integer({ min: 0, max: 4 }),
  // strs past the detail budget: no room, room for one chunk of indexes and 4 KiB, the default
  memoStrBytes: fc.constantFrom(0, 16384 + 4096, 32 << 20),
  memoSeqCap: fc.integer({ min: 0, max: 3 }),
  maxStack: fc.oneof(fc.integer({ min: 3, max: 40 }), fc.integer({ min: 40, max: 1000 })),
  maxMemo: fc.integer({ min: 2, max: 400 }),
  maxMarks: fc.integer({ min: 1, max: 6 }),
});

/** A stream's description (see {@link stream}). */
type Stream = typeof stream extends fc.Arbitrary<infer T> ? T : never;

function build(s: Stream): Uint8Array {
  const w = new Writer(s.seed, s.vary);
  w.out.push(...op.proto(4), s.container, 0x94);
  w.memo.add(0);
  const ender = s.container === 0x5d ? 0x65 : s.container === 0x7d ? 0x75 : 0x90;
  for (const count of s.batches) {
    w.out.push(0x28);
    for (let k = 0; k < count; k++) {
      for (const x of s.template.flat()) w.slot(x);
      if (s.frames && w.rand() < 0.1) w.out.push(...op.frame(Math.floor(w.rand() * 60)));
    }
    w.out.push(w.odd() ? 0x74 : ender);
  }
  w.out.push(0x2e);
  return Uint8Array.from(w.out);
}

const u32 = (code: number, n: number) => [code, n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
const sbu = (text: string) => [0x8c, text.length, ...Buffer.from(text, "latin1")];

describe("fast path: item skeletons", () => {
  it("still keeps a dunder key that comes among keys counted by a skeleton", async () => {
    // {'k00': 0, ...} in batches of 20 pairs; '__reduce__'-like keys of the same length in a later batch
    const out: number[] = [...op.proto(4), 0x7d, 0x94];
    for (let b = 0; b < 4; b++) {
      out.push(0x28);
      for (let k = 0; k < 20; k++)
        out.push(...sbu(b === 2 && k === 12 ? "__a" : `k${b}${k % 10}`), 0x94, ...u32(0x4a, k));
      out.push(0x75);
    }
    out.push(0x2e);
    const data = Uint8Array.from(out);
    const o = { machine: { containerCap: 2, memoDetailCap: 0 } };
    for (const chunk of [1 << 20, 100]) {
      const a = await fast(data, o, chunk);
      expect(analysisSummary(a)).toEqual(analysisSummary(await slow(data, o, chunk)));
      const dict = a.runs[0]?.machine.result;
      expect(dict instanceof PyDict && dict.overflowDunders?.map(([k]) => k)).toEqual(["__a"]);
    }
  });

  it("stops at the opcode budget on the same opcode inside an item", async () => {
    // 20,000 (int, int) tuples: the 65,536th opcode falls inside an item, wherever the padding puts it
    for (let pad = 0; pad < 6; pad++) {
      const out: number[] = [...op.proto(4)];
      for (let k = 0; k < pad; k++) out.push(0x4e, 0x30);
      out.push(0x5d, 0x94);
      for (let b = 0; b < 20; b++) {
        out.push(0x28);
        for (let k = 0; k < 1000; k++) out.push(0x28, 0x4b, k & 0xff, ...u32(0x4a, k), 0x74, 0x94);
        out.push(0x65);
      }
      out.push(0x2e);
      const data = Uint8Array.from(out);
      const o = { machine: { memoDetailCap: 4 }, decoder: { maxOpcodes: 100 } };
      // (a deferred run is not built when the analysis stops: the stacks differ, not what is reported)
      const outcome = (x: PickleAnalysis) => [x.findings, x.facts, x.end, x.runs[0]?.error?.offset];
      const a = await fast(data, o, 1 << 20);
      expect(a.runs[0]?.error?.budget).toBe("maxOpcodes");
      expect(outcome(a)).toEqual(outcome(await slow(data, o, 1 << 20)));
    }
  });

  it("tags the tuples and lists it counts, so a tuple of them is not taken for a flat one", async () => {
    // tuple items counted by the skeleton, then a TUPLE2 of the last two put at a kept index
    const out: number[] = [...op.proto(4), 0x5d, 0x94, 0x28, 0x4e, 0x4e, 0x65, 0x28]; // the list is full
    for (let k = 0; k < 40; k++) out.push(0x28, 0x4b, k, 0x4b, k, 0x74, 0x94);
    out.push(0x86, 0x71, 3, 0x65, 0x30, 0x68, 3, 0x2e);
    const data = Uint8Array.from(out);
    const o = { machine: { containerCap: 2, memoDetailCap: 8, memoSeqCap: 0 } };
    const a = await fast(data, o, 1 << 20);
    expect(a.invalid).toBe(false);
    expect(analysisSummary(a)).toEqual(analysisSummary(await slow(data, o, 1 << 20)));
    expect(preview(a.runs[0]?.machine.result)).toBe("((38, 38), (39, 39))");
  });

  it("does not record an item that pops what came before it", async () => {
    // items `True TUPLE2 BININT1 k`: each pairs the item before it into a tuple
    // (the memo put of the first item, which keeps it, makes the counting start again after it)
    const out: number[] = [...op.proto(4), 0x5d, 0x94, 0x28, 0x4e, 0x4e, 0x65, 0x28, 0x4b, 0, 0x71, 2];
    for (let k = 0; k < 40; k++) out.push(0x88, 0x86, 0x4b, k);
    out.push(0x86, 0x71, 3, 0x65, 0x30, 0x68, 3, 0x2e);
    const data = Uint8Array.from(out);
    const o = { machine: { containerCap: 2, memoDetailCap: 8, memoSeqCap: 0 } };
    const a = await fast(data, o, 1 << 20);
    expect(a.invalid).toBe(false);
    expect(analysisSummary(a)).toEqual(analysisSummary(await slow(data, o, 1 << 20)));
  });

  it("puts the right literal when a kept memo entry takes the item counted last", async () => {
    const out: number[] = [...op.proto(4), 0x5d, 0x94, 0x28, 0x4e, 0x4e, 0x65, 0x28]; // the list is full
    for (let k = 0; k < 40; k++) out.push(...u32(0x4a, 1000 + k), 0x94);
    out.push(0x71, 3, 0x65, 0x30, 0x68, 3, 0x2e);
    const data = Uint8Array.from(out);
    const o = { machine: { containerCap: 2, memoDetailCap: 8 } };
    const a = await fast(data, o, 1 << 20);
    expect(analysisSummary(a)).toEqual(analysisSummary(await slow(data, o, 1 << 20)));
    expect(a.runs[0]?.machine.result).toBe(1039);
  });

  it("marks present exactly the memo indexes the items name", async () => {
    // items BININT LONG_BINPUT(next); one names index 100,000 instead, which a GET then reads
    const out: number[] = [...op.proto(4), 0x5d, 0x94];
    let next = 1;
    for (let b = 0; b < 3; b++) {
      out.push(0x28);
      for (let k = 0; k < 30; k++) {
        const i = b === 1 && k === 20 ? 100_000 : next++;
        out.push(...u32(0x4a, k), ...u32(0x72, i));
      }
      out.push(0x65);
    }
    out.push(...u32(0x6a, 100_000), 0x61, 0x94, 0x2e);
    const data = Uint8Array.from(out);
    const o = { machine: { containerCap: 2, memoDetailCap: 0 } };
    for (const chunk of [1 << 20, 64]) {
      const a = await fast(data, o, chunk);
      expect(a.invalid).toBe(false);
      expect(analysisSummary(a)).toEqual(analysisSummary(await slow(data, o, chunk)));
    }
  });

  it("gives the same analysis as the machine alone on batches of items made alike", async () => {
    await fc.assert(
      fc.asyncProperty(stream, budgets, fc.integer({ min: 1, max: 300 }), fc.nat(3), async (s, machine, chunk, v) => {
        const data = build(s);
        const o: Options = {
          machine: v === 3 ? {} : machine,
          decoder: { maxOpcodes: v === 0 ? 50 + chunk : 1_000_000 },
        };
        expect(analysisSummary(await fast(data, o, chunk))).toEqual(analysisSummary(await slow(data, o, chunk)));
      }),
      { seed: 20261208, numRuns: 2500 },
    );
  });
});
