/**
 * Calls inside the fast path's deferred runs (`BINGET callee, EMPTY_TUPLE, REDUCE` items of a batch
 * appended to a full list, as a checkpoint's pickled instances are) change nothing the analysis
 * reports: random streams of such batches, with other callees, modelled callees, memo puts of
 * calls, BUILDs and stray opcodes between them, cut in buffers and frames of every size and under
 * tiny budgets, are analysed identically with and without the fast path, down to each call's
 * offset and arguments and each site's call count and records.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { PickleAnalysis } from "../../../src/formats/pickle/analyze.js";
import { PyCall, PyDict, PySeq } from "../../../src/formats/pickle/values.js";
import {
  analysisSummary,
  bytes,
  fastPathAnalysis as fast,
  type StreamOptions as Options,
  op,
  referenceAnalysis as slow,
} from "./helpers.js";

/**
 * Callees memoised at 0-4 (an unmodelled safe one twice, a dangerous one, a resolver, a tensor
 * rebuild): the memo is then filled in order, so that under small detail budgets later puts may
 * only mark entries present, except those of references.
 */
const CALLEES = bytes(
  op.global("collections", "OrderedDict"),
  [0x71, 0, 0x30],
  op.global("collections", "OrderedDict"),
  [0x71, 1, 0x30],
  op.global("os", "system"),
  [0x71, 2, 0x30],
  op.global("builtins", "getattr"),
  [0x71, 3, 0x30],
  op.global("torch._utils", "_rebuild_tensor_v2"),
  [0x71, 4, 0x30],
  // four calls of the first: its site keeps no more call records (the others' sites still do)
  ...Array.from({ length: 4 }, () => [0x68, 0, 0x29, 0x52, 0x30]),
);
const get = fc.oneof(
  { weight: 6, arbitrary: fc.constant(bytes([0x68, 0])) },
  { weight: 2, arbitrary: fc.constantFrom(bytes([0x6a, 0, 0, 0, 0]), bytes([0x68, 1]), bytes([0x68, 2])) },
  { weight: 2, arbitrary: fc.integer({ min: 3, max: 9 }).map((n) => bytes([0x68, n])) },
);
const scalar = fc.oneof(
  fc.nat(255).map((n) => bytes([0x4b, n])),
  fc.constantFrom("a", "__x", "k0001").map((s) => op.sbu(s)),
  fc.constant(bytes([0x4e])),
);
/** Arguments: mostly EMPTY_TUPLE, else a tuple of literals, a nested tuple, a list. */
const args = fc.oneof(
  { weight: 8, arbitrary: fc.constant(bytes([0x29])) },
  {
    weight: 1,
    arbitrary: fc.array(scalar, { minLength: 1, maxLength: 3 }).map((xs) => bytes(...xs, [0x84 + xs.length])),
  },
  { weight: 1, arbitrary: fc.array(scalar, { maxLength: 3 }).map((xs) => bytes([0x28], ...xs, [0x74])) },
  { weight: 1, arbitrary: fc.constantFrom(bytes([0x29, 0x85]), bytes([0x5d]), bytes([0x68, 1, 0x85])) },
);
const memo = fc.oneof(
  { weight: 3, arbitrary: fc.constant(bytes([0x94])) },
  fc.nat(9).map((n) => bytes([0x71, n])),
);
/** A call item, sometimes memoised, built upon or followed by a stray opcode. */
const call = fc
  .tuple(
    get,
    args,
    fc.option(memo, { freq: 6 }),
    fc.option(fc.constantFrom(bytes([0x7d, 0x62]), bytes([0x4e, 0x62]), bytes([0x61]), bytes([0x30])), {
      freq: 15,
    }),
  )
  .map(([g, a, m, after]) => bytes(g, a, [0x52], m ?? [], after ?? []));
/** A call with a MARK between the callee and its arguments (REDUCE then meets the MARK). */
const marked = fc.tuple(get, args).map(([g, a]) => bytes(g, [0x28], a, [0x52]));
const item = fc.oneof(
  { weight: 8, arbitrary: call },
  { weight: 1, arbitrary: scalar },
  { weight: 1, arbitrary: get },
  { weight: 1, arbitrary: marked },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.array(call, { minLength: 1, maxLength: 2 }), fc.option(memo))
      .map(([xs, m]) => bytes([0x28], ...xs, [0x74], m ?? [])),
  },
  { weight: 1, arbitrary: fc.nat(40).map((n) => bytes(op.frame(n))) },
);
const batch = fc
  .tuple(
    fc.array(item, { maxLength: 12 }),
    fc.constantFrom(bytes([0x65]), bytes([0x65]), bytes([0x65]), bytes([0x75]), bytes([0x90]), bytes([0x74])),
  )
  .map(([items, end]) => bytes([0x28], ...items, end));
const token = fc.oneof(
  { weight: 6, arbitrary: batch },
  { weight: 2, arbitrary: call },
  // what the memo holds, seen by a call outside any batch
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 9 }).map((n) => bytes([0x68, n, 0x29, 0x52])) },
  { weight: 1, arbitrary: fc.constantFrom(bytes([0x5d]), bytes([0x7d]), bytes([0x8f]), bytes([0x30])) },
);
const budgets = fc.record({
  containerCap: fc.integer({ min: 0, max: 3 }),
  memoDetailCap: fc.integer({ min: 0, max: 4 }),
  // strs past the detail budget: no room, room for one chunk of indexes and 4 KiB, the default
  memoStrBytes: fc.constantFrom(0, 16384 + 4096, 32 << 20),
  maxStack: fc.integer({ min: 3, max: 40 }),
  maxMemo: fc.integer({ min: 6, max: 200 }),
  maxMarks: fc.integer({ min: 1, max: 6 }),
  memoSeqCap: fc.integer({ min: 0, max: 2 }),
});

describe("fast path: calls in deferred runs", () => {
  it("gives the same analysis as the reference on random streams of call batches", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(token, { maxLength: 24 }),
        budgets,
        fc.integer({ min: 1, max: 80 }),
        fc.nat(3),
        async (tokens, machine, chunk, variant) => {
          // a list below everything: batches are appended to it once it is full
          const data = bytes(op.proto(2), [0x5d], CALLEES, ...tokens, [0x2e]);
          const o: Options = {
            machine: variant === 3 ? {} : machine,
            decoder: { maxOpcodes: variant === 0 ? 60 : 100_000 },
          };
          expect(analysisSummary(await fast(data, o, chunk))).toEqual(analysisSummary(await slow(data, o, chunk)));
        },
      ),
      { seed: 20261207, numRuns: 3000 },
    );
  });

  it("gives the same analysis on runs of identical call items and near misses", async () => {
    const unit = fc.constantFrom(
      bytes([0x68, 0, 0x29, 0x52]),
      bytes([0x6a, 0, 0, 0, 0, 0x29, 0x52]),
      bytes([0x68, 1, 0x29, 0x52]),
      bytes([0x68, 2, 0x29, 0x52]),
      bytes([0x71, 0, 0x29, 0x52]), // BINPUT: not a call of the memo's callee
      bytes([0x6a, 0, 1, 0, 0, 0x29, 0x52]),
      bytes([0x68, 0, 0x29, 0x85]),
      bytes([0x68, 0, 0x5d, 0x52]),
      bytes([0x68, 0, 0x29, 0x52, 0x94]),
    );
    const run = fc
      .tuple(unit, fc.integer({ min: 1, max: 40 }))
      .map(([u, k]) => bytes(...Array.from({ length: k }, () => u)));
    const batch = fc
      .tuple(fc.array(run, { maxLength: 4 }), fc.constantFrom(bytes([0x65]), bytes([0x75]), bytes([0x74])))
      .map(([runs, end]) => bytes([0x28], ...runs, end));
    await fc.assert(
      fc.asyncProperty(
        fc.array(batch, { maxLength: 6 }),
        budgets,
        fc.integer({ min: 1, max: 300 }),
        fc.nat(3),
        async (batches, machine, chunk, variant) => {
          const data = bytes(op.proto(2), [0x5d], CALLEES, ...batches, [0x2e]);
          const o: Options = {
            machine: variant === 3 ? { maxStack: machine.maxStack } : machine,
            decoder: { maxOpcodes: variant === 0 ? 100 + chunk : 100_000 },
          };
          expect(analysisSummary(await fast(data, o, chunk))).toEqual(analysisSummary(await slow(data, o, chunk)));
        },
      ),
      { seed: 20261208, numRuns: 1500 },
    );
  });

  it("keeps memoised calls compactly and gives them back as the reference does", async () => {
    // CPython's protocol 2 shape of a list of instances: each call memoised right after its REDUCE
    // (BINPUT, then LONG_BINPUT from 256), in batches of 1000; protocol 4 memoises with MEMOIZE
    const put = (i: number, memoize: boolean) =>
      memoize ? [0x94] : i < 256 ? [0x71, i] : [0x72, i & 0xff, (i >>> 8) & 0xff, (i >>> 16) & 0xff, i >>> 24];
    const stream = (calls: number, memoize: boolean, tail: (number[] | Uint8Array)[]) => {
      const parts: (number[] | Uint8Array)[] = [
        op.proto(memoize ? 4 : 2),
        [0x5d, ...put(0, memoize)],
        op.global("collections", "OrderedDict"),
        put(1, memoize),
        [0x30],
      ];
      for (let start = 0; start < calls; start += 1000) {
        parts.push([0x28]);
        for (let i = start; i < Math.min(calls, start + 1000); i++)
          parts.push([0x68, 1, 0x29, 0x52], put(i + 2, memoize));
        parts.push([0x65]);
      }
      return bytes(...parts, ...tail, [0x2e]);
    };
    const get = (i: number) => (i < 256 ? [0x68, i] : [0x6a, i & 0xff, (i >>> 8) & 0xff, (i >>> 16) & 0xff, i >>> 24]);
    // after the list: a BUILD on a memoised call, then a tuple of GETs (one entry twice)
    const tail = (a: number, b: number, c: number) => [
      [0x30],
      get(a),
      [0x7d, 0x62, 0x30],
      [0x28],
      get(a),
      get(b),
      get(c),
      get(a),
      [0x74],
    ];
    const cases: [Uint8Array, Options][] = [
      [stream(5000, false, tail(3, 300, 4500)), {}],
      [stream(5000, true, tail(3, 300, 4500)), {}],
      // small memo budgets: entries in the dense part, the far part's array and its map, and elided
      [stream(5000, false, tail(5, 40, 4500)), { machine: { memoDetailCap: 8 } }],
      [stream(3000, false, tail(2, 9, 60)), { machine: { memoDetailCap: 4, containerCap: 2 } }],
      [stream(3000, true, tail(2, 30, 2999)), { machine: { memoDetailCap: 4, containerCap: 2 } }],
    ];
    for (const [data, o] of cases) {
      for (const chunk of [1 << 16, 4093, 97]) {
        const a = await fast(data, o, chunk);
        expect(analysisSummary(a)).toEqual(analysisSummary(await slow(data, o, chunk)));
        const result = a.runs[0]?.machine.result;
        expect(result).toBeInstanceOf(PySeq);
        const items = (result as PySeq).items;
        // the same entry twice: one object, built upon by the BUILD (a tuple keeps containerCap items)
        expect(items[0]).toBeInstanceOf(PyCall);
        if (o.machine?.containerCap === undefined) expect(items[3]).toBe(items[0]);
        expect((items[0] as PyCall).state).toBeInstanceOf(PyDict);
      }
    }
    // a batch built in its middle (a BUILD on a memoised call): the memo gives back the calls the
    // machine then builds, the one built upon included
    const call = [0x68, 1, 0x29, 0x52];
    const built = bytes(
      op.proto(2),
      [0x5d, 0x71, 0],
      op.global("collections", "OrderedDict"),
      [0x71, 1, 0x30],
      ...Array.from({ length: 4 }, () => [...call, 0x30]), // the site keeps no more call records
      ...Array.from({ length: 3 }, () => [...call, 0x61]), // the list is full (containerCap 3)
      [0x28, ...call, 0x71, 2, ...call, 0x71, 3, 0x7d, 0x62, ...call, 0x71, 4, 0x65],
      [0x28, 0x68, 3, 0x68, 2, 0x68, 3, 0x74, 0x2e],
    );
    for (const o of [{ machine: { containerCap: 3 } }, { machine: { containerCap: 3, memoDetailCap: 1 } }]) {
      for (const chunk of [1 << 16, 7]) {
        const a = await fast(built, o, chunk);
        expect(analysisSummary(a)).toEqual(analysisSummary(await slow(built, o, chunk)));
        const gets = a.runs[0]?.machine.result as PySeq;
        expect(gets.items).toHaveLength(3);
        expect(gets.items[2]).toBe(gets.items[0]);
        expect(gets.items[1]).not.toBe(gets.items[0]);
        expect((gets.items[0] as PyCall).state).toBeInstanceOf(PyDict);
        expect((gets.items[1] as PyCall).state).toBeUndefined();
      }
    }
  });

  it("counts the calls of a checkpoint's instances exactly, across buffers and frames", async () => {
    // the queue bench's shape: `]` then batches of 1000 `BINGET 1, EMPTY_TUPLE, REDUCE` appended
    const batch = bytes([0x28], ...Array.from({ length: 1000 }, () => [0x68, 1, 0x29, 0x52]), [0x65]);
    const plain = bytes(op.proto(2), [0x5d], op.global("collections", "OrderedDict"), [0x71, 1, 0x30]);
    const framed = (b: Uint8Array) => bytes(op.frame(b.length), b);
    const cases: [Uint8Array, number | undefined][] = [
      [bytes(plain, ...Array.from({ length: 30 }, () => batch), [0x2e]), 30_000],
      // a memo put of one call and a BUILD on it in the middle of a batch
      [bytes(plain, batch, batch.subarray(0, 2001), [0x71, 7, 0x7d, 0x62], batch.subarray(2001), batch, [0x2e]), 3000],
      // the same with MEMOIZE, which replaces the callee in the memo (later calls are dynamic)
      [bytes(plain, batch, batch.subarray(0, 2001), [0x94, 0x7d, 0x62], batch.subarray(2001), batch, [0x2e]), 1500],
      // protocol 4 frames cut items
      [
        bytes(
          op.proto(4),
          [0x5d],
          op.global("collections", "OrderedDict"),
          [0x71, 1, 0x30],
          ...[batch, batch, batch.subarray(0, 1003), batch.subarray(1003)].map(framed),
          [0x2e],
        ),
        3000,
      ],
    ];
    for (const [data, calls] of cases) {
      for (const chunk of [1 << 16, 4093, 97]) {
        const a = await fast(data, {}, chunk);
        expect(analysisSummary(a)).toEqual(analysisSummary(await slow(data, {}, chunk)));
        expect(a.runs[0]?.machine.refs.get("collections.OrderedDict")?.callCount).toBe(calls);
        // the opcode budget, checked every 65,536 opcodes, stops both in the middle of an item, at
        // the same offset with the same counts (the stack is left aside: a deferred run, of calls
        // or of literals, is not built when the analysis ends in an error)
        const budget: Options = { decoder: { maxOpcodes: 1000 } };
        const b = await fast(data, budget, chunk);
        const noStack = (x: PickleAnalysis) => {
          const { runs, ...rest } = analysisSummary(x) as { runs: Record<string, unknown>[] };
          return { ...rest, runs: runs.map(({ stack: _s, marks: _m, ...run }) => run) };
        };
        expect(noStack(b)).toEqual(noStack(await slow(data, budget, chunk)));
        expect(b.runs[0]?.error?.budget).toBe(data.length > 65_536 ? "maxOpcodes" : undefined);
      }
    }
  });
});
