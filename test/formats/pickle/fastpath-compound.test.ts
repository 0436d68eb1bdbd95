/**
 * The fast path's compound items (tuples, lists of literals, LONG1 ints) inside deferred runs and
 * outside them change nothing the analysis reports: random streams of such batches, cut in
 * buffers and frames of every size and under tiny budgets, are analysed identically with and
 * without the fast path (as `fastpath.test.ts` checks for literal batches).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PySeq } from "../../../src/formats/pickle/values.js";
import {
  analysisSummary,
  bytes,
  fastPathAnalysis as fast,
  type StreamOptions as Options,
  op,
  referenceAnalysis as slow,
} from "./helpers.js";

const f64 = (x: number) => {
  const b = Buffer.alloc(9);
  b[0] = 0x47;
  b.writeDoubleBE(x, 1);
  return b;
};
const long1 = (n: bigint) => {
  const out: number[] = [];
  let v = n;
  while (v !== 0n && v !== -1n) {
    out.push(Number(v & 0xffn));
    v >>= 8n;
  }
  if (out.length === 0 || n >= 0n !== (out[out.length - 1] as number) < 0x80) out.push(n < 0n ? 0xff : 0);
  return bytes([0x8a, n === 0n ? 0 : out.length], n === 0n ? [] : out);
};

const scalar = fc.oneof(
  fc.double({ noNaN: true }).map(f64),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map((n) => {
    const b = Buffer.alloc(5);
    b[0] = 0x4a;
    b.writeInt32LE(n, 1);
    return b;
  }),
  fc.nat(255).map((n) => bytes([0x4b, n])),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(long1),
  fc.constantFrom("a", "s0001", "__x", "é", "long string of 20 b").map((s) => op.sbu(s)),
  fc.constantFrom(bytes([0x4e]), bytes([0x88]), bytes([0x89])),
);
const memo = fc.oneof(
  { weight: 3, arbitrary: fc.constant(bytes([0x94])) },
  fc.nat(300).map((n) => (n < 256 ? bytes([0x71, n]) : bytes([0x72, n & 0xff, n >> 8, 0, 0]))),
);
const memoized = (b: fc.Arbitrary<Uint8Array>) =>
  fc.tuple(b, fc.option(memo, { freq: 2 })).map(([x, m]) => (m === null ? x : bytes(x, m)));
const frame = fc.nat(40).map((n) => bytes(op.frame(n)));
/** A tuple as the pickler writes it: MARK items TUPLE, or items TUPLE1-3, or EMPTY_TUPLE. */
const tuple = fc.oneof(
  fc.array(memoized(scalar), { maxLength: 5 }).map((xs) => bytes([0x28], ...xs, [0x74])),
  fc.array(memoized(scalar), { minLength: 1, maxLength: 3 }).map((xs) => bytes(...xs, [0x84 + xs.length])),
  fc.constant(bytes([0x29])),
);
/** A list as the pickler writes it: EMPTY_LIST, memo put, then APPEND or MARK items APPENDS. */
const list = fc
  .tuple(
    fc.option(memo, { freq: 4 }),
    fc.array(
      fc.oneof(
        memoized(scalar).map((x) => bytes(x, [0x61])),
        fc.array(memoized(scalar), { maxLength: 6 }).map((xs) => bytes([0x28], ...xs, [0x65])),
      ),
      { maxLength: 3 },
    ),
  )
  .map(([m, parts]) => bytes([0x5d], m ?? [], ...parts));
const item = fc.oneof(
  { weight: 3, arbitrary: memoized(tuple) },
  { weight: 3, arbitrary: list },
  { weight: 2, arbitrary: scalar },
);
/** Noise the fast path must leave to `op`: stray marks, tuple/append ops out of place, POP, a call. */
const noise = fc.constantFrom(
  bytes([0x28]),
  bytes([0x74]),
  bytes([0x85]),
  bytes([0x87]),
  bytes([0x61]),
  bytes([0x65]),
  bytes([0x30]),
  bytes([0x31]),
  bytes([0x5d]),
  op.global("os", "system"),
);
const batch = fc
  .tuple(
    fc.array(fc.tuple(item, fc.option(frame, { freq: 8 }), fc.option(noise, { freq: 25 })), { maxLength: 10 }),
    fc.constantFrom(bytes([0x65]), bytes([0x65]), bytes([0x75]), bytes([0x90]), bytes([0x74])),
  )
  .map(([items, end]) => bytes([0x28], ...items.flatMap((parts) => parts.filter((x) => x !== null)), end));
const token = fc.oneof(
  { weight: 6, arbitrary: batch },
  { weight: 2, arbitrary: fc.constantFrom(bytes([0x5d]), bytes([0x7d]), bytes([0x8f])) },
  { weight: 2, arbitrary: item },
  { weight: 1, arbitrary: noise },
  { weight: 1, arbitrary: frame },
);
const budgets = fc.record({
  containerCap: fc.integer({ min: 0, max: 3 }),
  memoDetailCap: fc.integer({ min: 0, max: 4 }),
  // strs past the detail budget: no room, room for one chunk of indexes and 4 KiB, the default
  memoStrBytes: fc.constantFrom(0, 16384 + 4096, 32 << 20),
  maxStack: fc.integer({ min: 3, max: 40 }),
  maxMemo: fc.integer({ min: 2, max: 200 }),
  maxMarks: fc.integer({ min: 1, max: 6 }),
});

describe("fast path: compound items", () => {
  it("gives the same analysis as the reference on random streams of tuples, lists and LONG1", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(token, { maxLength: 30 }),
        budgets,
        fc.integer({ min: 1, max: 80 }),
        fc.nat(3),
        async (tokens, machine, chunk, variant) => {
          const data = bytes(op.proto(4), ...tokens, [0x2e]);
          const o: Options = {
            machine: variant === 3 ? {} : machine,
            decoder: { maxOpcodes: variant === 0 ? 40 : 100_000 },
          };
          expect(analysisSummary(await fast(data, o, chunk))).toEqual(analysisSummary(await slow(data, o, chunk)));
        },
      ),
      { seed: 20261206, numRuns: 2000 },
    );
  });

  it("counts tuples and int lists into full lists without building them", async () => {
    // [(i, 's%07d', f, None) ...] and [[LONG1 x 10] ...] in batches of 100, memo budgets small
    const parts: (number[] | Uint8Array)[] = [op.proto(4), [0x5d, 0x94]];
    for (let b = 0; b < 20; b++) {
      parts.push([0x28]);
      for (let k = 0; k < 100; k++) {
        const i = b * 100 + k;
        parts.push(
          [0x28, 0x4b, i & 0xff],
          op.sbu(`s${String(i).padStart(7, "0")}`),
          [0x94],
          f64(i + 0.5),
          [0x4e, 0x74, 0x94],
        );
      }
      parts.push([0x65]);
    }
    const lists: (number[] | Uint8Array)[] = [op.proto(2), [0x5d, 0x71, 0]];
    for (let b = 0; b < 20; b++) {
      lists.push([0x28]);
      for (let k = 0; k < 100; k++) {
        lists.push([0x5d, 0x72, ...[b * 100 + k + 1, 0, 0, 0]], [0x28]);
        for (let j = 0; j < 10; j++) lists.push(long1(2n ** 61n + BigInt(j)));
        lists.push([0x65]);
      }
      lists.push([0x65]);
    }
    for (const data of [bytes(...parts, [0x2e]), bytes(...lists, [0x2e])]) {
      for (const chunk of [1 << 20, 4096, 333]) {
        const o = { machine: { memoDetailCap: 8 } };
        const a = await fast(data, o, chunk);
        expect(a.invalid).toBe(false);
        expect(analysisSummary(a)).toEqual(analysisSummary(await slow(data, o, chunk)));
        const result = a.runs[0]?.machine.result;
        expect(result instanceof PySeq && result.count).toBe(2000);
      }
    }
  });
});
