/**
 * Attacks on the memo's compact calls (`Memo.storeCall`: a call without arguments memoised right
 * after its REDUCE, kept as its callee and offset until a GET makes it) and on the fast path's
 * runs that go on past such puts: whatever the bytes, the analysis with the fast path reports
 * exactly what the machine alone reports, down to each value the memo gives back (the same object
 * for two GETs of one entry, built upon by BUILD), each site's calls and each event.
 *
 * Hand-made streams cover what the code suggests (re-puts of one index, a call built upon or
 * called after a GET, entries in the memo's dense part, far array and map, indexes past 2**28 and
 * 2**31, the memo budget spent in the middle of a run, MEMOIZE / BINPUT / LONG_BINPUT, POP / DUP /
 * POP_MARK next to the put, PROTO and FRAME inside a run, streams cut in the middle of a run, two
 * callees, a dangerous one); properties run random streams biased toward the same shapes
 * (ATTACK_SEED and ATTACK_RUNS set their seed and runs).
 *
 * The first two tests failed before the counting loop stopped applying an item skeleton, recorded
 * from another item, whose leading memo put is of the item before it when that item is a callee or
 * a call (the memo keeps those; the skeleton's put only marked the entry present): a later GET of
 * the entry gave an unknown value, and a call made through it went unreported.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  binget,
  binput,
  bytes,
  LIST_AND_CALLEES,
  type StreamOptions as Options,
  op,
  expectSameAnalyses as same,
  u32le,
} from "./helpers.js";

/** `BINGET callee, EMPTY_TUPLE, REDUCE`. */
const call0 = (callee: number) => [...binget(callee), 0x29, 0x52];

const PREFIX = LIST_AND_CALLEES;
/** `memo[i] = 7` for the next `n` indexes (fills the memo in order). */
const fill = (n: number) => Uint8Array.from({ length: 4 * n }, (_, k) => [0x4b, 7, 0x94, 0x30][k % 4] as number);
/** After a GET: a BUILD that sets `__setstate__` to os.system, then one that calls it. */
const HOOK = bytes([0x7d], op.sbu("__setstate__"), binget(2), [0x73, 0x62], op.sbu("echo pwned"), [0x62]);

/**
 * A deferred run in which `MEMOIZE BININT1` items are recorded as a skeleton whose put is of the
 * item before, then `middle` (memoised, an item that cannot be recorded), then one more such item.
 */
const skeletonRun = (middle: number[]) =>
  bytes(
    [0x28, 0x4b, 1],
    op.sbu("a"),
    [0x4b, 2],
    op.sbu("b"),
    [0x94, 0x4b, 3, 0x94, 0x4b, 4, 0x94],
    middle,
    [0x94, 0x4b, 5, 0x65],
  );

describe("compact memoised calls: attacks", () => {
  it("a skeleton recorded from another item does not take the memo put of a call for a literal's", async () => {
    // In a deferred run over a memo past its detail budget (MEMOIZE then only marks entries
    // present), an item `MEMOIZE BININT1` is recorded as a skeleton whose put is of the item
    // before; the item `MEMOIZE BINGET 0, EMPTY_TUPLE, REDUCE` cannot be recorded, and the next
    // `MEMOIZE BININT1` was counted by the old skeleton: its put of the call only marked entry 8
    // present. The machine keeps the call (a reference): a GET of it, a BUILD giving it a
    // `__setstate__` and a BUILD calling that ran os.system('echo pwned') unreported.
    const run = skeletonRun(call0(0));
    const data = bytes(PREFIX, [0x4b, 7, 0x71, 4, 0x30], run, binget(8), HOOK, [0x2e]);
    for (const chunk of [1 << 20, 97, 7]) {
      const a = await same(data, { machine: { memoDetailCap: 2, containerCap: 1 } }, chunk);
      expect(a.findings.some((f) => f.evidence?.via === "__setstate__ set by an earlier BUILD")).toBe(true);
    }
    // the same with the memo's default budgets: 65,536 entries in full, as many more in the far
    // part, then only references are kept
    const big = bytes(PREFIX, fill(2 * 65_536), run, binget(2 * 65_536 + 7), HOOK, [0x2e]);
    const b = await same(big, { machine: { containerCap: 1 } });
    expect(b.findings.some((f) => f.evidence?.via === "__setstate__ set by an earlier BUILD")).toBe(true);
  });

  it("a skeleton recorded from another item does not take the memo put of a callee for a literal's", async () => {
    // the same with the callee itself (os.system, fetched in the run): the put only marked entry 8
    // present, so a call of it after the run was not resolved to os.system
    const run = skeletonRun(binget(2));
    const data = bytes(PREFIX, [0x4b, 7, 0x71, 4, 0x30], run, binget(8), op.sbu("echo pwned"), [0x85, 0x52, 0x2e]);
    for (const chunk of [1 << 20, 97, 7]) {
      const a = await same(data, { machine: { memoDetailCap: 2, containerCap: 1 } }, chunk);
      expect(a.findings.some((f) => f.evidence?.callee === "os.system" && f.evidence.args === "'echo pwned'")).toBe(
        true,
      );
    }
  });
});

/** Memo indexes the streams use: low ones, far ones under small budgets, past 2**28 and 2**31. */
const index = fc.oneof(
  { weight: 12, arbitrary: fc.integer({ min: 4, max: 14 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom(255, 256, 2 ** 28 - 1, 2 ** 28 + 3, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1) },
);
/** A memo put: MEMOIZE mostly, else BINPUT or LONG_BINPUT (a LONG_BINPUT of a small index too). */
const put = fc.oneof(
  { weight: 3, arbitrary: fc.constant(bytes([0x94])) },
  { weight: 3, arbitrary: index.map((i) => bytes(binput(i))) },
  { weight: 1, arbitrary: index.map((i) => bytes([0x72, ...u32le(i)])) },
);
const get = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 4, max: 15 }).map((i) => bytes(binget(i))) },
  { weight: 1, arbitrary: index.map((i) => bytes(binget(i))) },
  { weight: 1, arbitrary: index.map((i) => bytes([0x6a, ...u32le(i)])) },
);
/** A callee: the two safe ones mostly (their calls may be counted), os.system, getattr, a GET. */
const callee = fc.oneof(
  { weight: 6, arbitrary: fc.constant(bytes(binget(0))) },
  { weight: 3, arbitrary: fc.constant(bytes(binget(1))) },
  { weight: 1, arbitrary: fc.constant(bytes([0x6a, 0, 0, 0, 0])) },
  { weight: 1, arbitrary: fc.constantFrom(bytes(binget(2)), bytes(binget(3))) },
  { weight: 1, arbitrary: get },
);
const scalar = fc.oneof(
  fc.nat(255).map((n) => bytes([0x4b, n])),
  fc.constantFrom("a", "__x", "k1").map((s) => op.sbu(s)),
  fc.constant(bytes([0x4e])),
);
/** What may follow a call: nothing mostly, a BUILD, an APPEND, POP, DUP, POP_MARK, a call of it. */
const after = fc.constantFrom(
  bytes([0x7d, 0x62]),
  bytes([0x4e, 0x62]),
  HOOK,
  bytes([0x61]),
  bytes([0x30]),
  bytes([0x32]),
  bytes([0x31]),
  bytes([0x29, 0x52]),
  bytes([0x85]),
  bytes(op.frame(3)),
  bytes(op.proto(4)),
);
/** A call without arguments (mostly) or with some, sometimes memoised (once or twice). */
const call = fc
  .tuple(
    callee,
    fc.oneof(
      { weight: 8, arbitrary: fc.constant(bytes([0x29])) },
      { weight: 1, arbitrary: scalar.map((x) => bytes(x, [0x85])) },
    ),
    fc.option(put, { freq: 4 }),
    fc.option(put, { freq: 8 }),
    fc.option(after, { freq: 8 }),
  )
  .map(([c, a, m1, m2, x]) => bytes(c, a, [0x52], m1 ?? [], m2 ?? [], x ?? []));
/** Literal items (with the puts skeletons are made of) and the memo's entries used. */
const item = fc.oneof(
  { weight: 8, arbitrary: call },
  { weight: 3, arbitrary: fc.tuple(scalar, fc.option(put, { freq: 2 })).map(([x, m]) => bytes(x, m ?? [])) },
  { weight: 2, arbitrary: fc.tuple(scalar, put, scalar).map(([x, m, y]) => bytes(x, m, y)) },
  { weight: 1, arbitrary: fc.tuple(get, fc.option(after, { freq: 2 })).map(([g, x]) => bytes(g, x ?? [])) },
  {
    weight: 1,
    arbitrary: fc
      .array(call, { minLength: 1, maxLength: 3 })
      .map((xs) => bytes([0x5d], ...xs.map((x) => bytes(x, [0x61])))),
  },
  { weight: 1, arbitrary: fc.array(call, { minLength: 1, maxLength: 3 }).map((xs) => bytes([0x28], ...xs, [0x74])) },
  { weight: 1, arbitrary: fc.nat(20).map((n) => bytes(op.frame(n))) },
);
/** Items a run counts whole: calls of the counted callees memoised, literals, lists of calls. */
const cleanCall = fc
  .tuple(fc.constantFrom(0, 0, 1, 2), fc.option(put, { freq: 5 }))
  .map(([c, m]) => bytes(call0(c), m ?? []));
const cleanItem = fc.oneof(
  { weight: 6, arbitrary: cleanCall },
  { weight: 2, arbitrary: fc.tuple(scalar, fc.option(put, { freq: 2 })).map(([x, m]) => bytes(x, m ?? [])) },
  { weight: 1, arbitrary: fc.tuple(scalar, put, scalar).map(([x, m, y]) => bytes(x, m, y)) },
  {
    weight: 1,
    arbitrary: fc
      .array(cleanCall, { minLength: 1, maxLength: 3 })
      .map((xs) => bytes([0x5d], ...xs.map((x) => bytes(x, [0x61])))),
  },
  {
    weight: 1,
    arbitrary: fc.array(cleanCall, { minLength: 1, maxLength: 3 }).map((xs) => bytes([0x28], ...xs, [0x74])),
  },
);
const cleanBatch = fc
  .tuple(
    fc.array(cleanItem, { maxLength: 16 }),
    fc.constantFrom(bytes([0x65]), bytes([0x65]), bytes([0x65]), bytes([0x74, 0x30])),
  )
  .map(([items, end]) => bytes([0x28], ...items, end));
/** A batch over the full list, ended by APPENDS mostly. */
const batch = fc
  .tuple(
    fc.array(item, { maxLength: 14 }),
    fc.constantFrom(
      bytes([0x65]),
      bytes([0x65]),
      bytes([0x65]),
      bytes([0x75]),
      bytes([0x90]),
      bytes([0x74]),
      bytes([0x31]),
    ),
  )
  .map(([items, end]) => bytes([0x28], ...items, end));
/** What a loader does with memo entries afterwards. */
const use = fc.oneof(
  get.map((g) => bytes(g, [0x30])),
  get.map((g) => bytes(g, [0x7d, 0x62, 0x30])),
  get.map((g) => bytes(g, HOOK, [0x30])),
  get.map((g) => bytes(g, [0x29, 0x52, 0x30])),
  get.map((g) => bytes(binget(2), g, [0x85, 0x52, 0x30])),
  get.map((g) => bytes(g, [0x4b, 1, 0x61, 0x30])),
  fc.tuple(get, get).map(([g, h]) => bytes([0x28], g, h, g, [0x74, 0x30])),
);
const token = fc.oneof(
  { weight: 6, arbitrary: cleanBatch },
  { weight: 3, arbitrary: batch },
  { weight: 3, arbitrary: use },
  { weight: 1, arbitrary: call },
  // the memo filled in order (entries past a small detail budget only marked present)
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 12 }).map((n) => fill(n)) },
  // os.system's site keeps no more call records: its calls too may be counted
  { weight: 1, arbitrary: fc.constant(bytes(...Array.from({ length: 4 }, () => [...call0(2), 0x30]))) },
);
const budgets = fc.record({
  containerCap: fc.constantFrom(0, 1, 1, 1, 2),
  memoDetailCap: fc.constantFrom(0, 1, 2, 3, 4, 8, 64),
  // strs past the detail budget: no room, room for one chunk of indexes and 4 KiB, the default
  memoStrBytes: fc.constantFrom(0, 16384 + 4096, 32 << 20),
  maxStack: fc.integer({ min: 6, max: 80 }),
  maxMemo: fc.integer({ min: 16, max: 400 }),
  maxMarks: fc.integer({ min: 2, max: 6 }),
  memoSeqCap: fc.integer({ min: 0, max: 2 }),
});

describe("compact memoised calls: hand-made streams", () => {
  it("are analysed as the machine alone analyses them", async () => {
    const c = (callee = 0) => call0(callee);
    const batch = (...items: number[][]) => bytes([0x28], ...items, [0x65]);
    const cases: [string, Uint8Array][] = [
      [
        "re-put of one index: call, int, call",
        bytes(batch([...c(), 0x71, 6], [0x4b, 9, 0x71, 6], [...c(), 0x71, 6]), binget(6), HOOK),
      ],
      ["re-put of one index: call, then int", bytes(batch([...c(), 0x71, 6], [0x4b, 9, 0x71, 6]), binget(6), [0x30])],
      ["re-put by two callees", bytes(batch([...c(0), 0x71, 6], [...c(1), 0x71, 6]), binget(6), HOOK)],
      [
        "the callee's own entry replaced",
        bytes(batch([...c(), 0x71, 0], [...c(), 0x94]), binget(0), [0x29, 0x52, 0x30]),
      ],
      [
        "BUILD on a GET, twice",
        bytes(batch([...c(), 0x94], [...c(), 0x94]), [0x28], binget(15), binget(15), [0x7d, 0x62, 0x74]),
      ],
      ["a GET used as a callee", bytes(batch([...c(), 0x94]), binget(15), [0x29, 0x52, 0x30])],
      ["a GET given to os.system", bytes(batch([...c(), 0x94]), binget(2), binget(15), [0x85, 0x52, 0x30])],
      ["a GET appended to", bytes(batch([...c(), 0x94]), binget(15), [0x4b, 1, 0x61, 0x30])],
      ["SETITEM on a GET", bytes(batch([...c(), 0x94]), binget(15), op.sbu("k"), [0x4b, 1, 0x73, 0x30])],
      ["BUILD in the run", bytes(batch([...c(), 0x94, 0x7d, 0x62], [...c(), 0x94]), binget(15), binget(16), [0x86])],
      ["POP after the put", bytes(batch([...c(), 0x94, 0x30], [...c(), 0x94]), binget(15), HOOK)],
      ["DUP after the put", bytes(batch([...c(), 0x94, 0x32, 0x7d, 0x62]), binget(15), HOOK)],
      ["POP_MARK after the put", bytes([0x28], c(), [0x94, 0x31], binget(15), HOOK)],
      [
        "put twice",
        bytes(
          batch([...c(), 0x94, 0x94], [...c(), 0x71, 7, 0x71, 8]),
          binget(15),
          binget(16),
          binget(7),
          binget(8),
          [0x87],
        ),
      ],
      [
        "LONG_BINPUT past 2**28",
        bytes(batch([...c(), 0x72, ...u32le(2 ** 28 + 5)]), [0x6a, ...u32le(2 ** 28 + 5)], HOOK),
      ],
      [
        "LONG_BINPUT at 2**31 - 1",
        bytes(batch([...c(), 0x72, ...u32le(2 ** 31 - 1)]), [0x6a, ...u32le(2 ** 31 - 1)], HOOK),
      ],
      ["LONG_BINPUT at 2**31", bytes(batch([...c(), 0x72, ...u32le(2 ** 31)]), [0x6a, ...u32le(2 ** 31)], HOOK)],
      [
        "LONG_BINPUT at 2**32 - 1",
        bytes(batch([...c(), 0x72, ...u32le(2 ** 32 - 1)]), [0x6a, ...u32le(2 ** 32 - 1)], HOOK),
      ],
      ["FRAME between REDUCE and put", bytes(batch([...c(), ...op.frame(2), 0x94]), binget(15), HOOK)],
      ["FRAME between calls", bytes(batch([...c(), 0x94, ...op.frame(4), ...c(), 0x94]), binget(16), HOOK)],
      ["PROTO in the run", bytes(batch([...c(), 0x94, 0x80, 4, ...c(), 0x94]), binget(16), HOOK)],
      ["two callees alternating", bytes(batch([...c(0), 0x94], [...c(1), 0x94], [...c(0), 0x94]), binget(16), HOOK)],
      [
        "os.system as the callee, its calls counted",
        bytes(
          ...Array.from({ length: 4 }, () => [...c(2), 0x30]),
          batch([...c(2), 0x94], [...c(2), 0x94]),
          binget(16),
          HOOK,
        ),
      ],
      ["os.system as the callee", bytes(batch([...c(2), 0x94], [...c(2), 0x94]), binget(15), HOOK)],
      ["getattr as the callee", bytes(batch([...c(3), 0x94]), binget(15), [0x30])],
      ["a list of calls in the run", bytes(batch([0x5d, ...c(), 0x94, 0x61, ...c(), 0x71, 6, 0x61]), binget(6), HOOK)],
      ["a tuple of calls in the run", bytes(batch([0x28, ...c(), 0x94, ...c(), 0x94, 0x74, 0x94]), binget(17), [0x30])],
      ["the memo full in the run", bytes(batch(...Array.from({ length: 40 }, () => [...c(), 0x94])), binget(20), HOOK)],
      ["cut after the put", bytes([0x28], c(), [0x94])],
      ["cut between REDUCE and put", bytes([0x28], c())],
      ["cut inside LONG_BINPUT", bytes([0x28], c(), [0x72, 5, 0])],
    ];
    const budgets: Options[] = [
      { machine: { containerCap: 1 } },
      { machine: { containerCap: 1, memoDetailCap: 1 } },
      { machine: { containerCap: 1, memoDetailCap: 4 } },
      { machine: { containerCap: 0, memoDetailCap: 0 } },
      { machine: { containerCap: 1, memoDetailCap: 2, maxMemo: 30 } },
      { machine: { containerCap: 1, maxStack: 24 } },
    ];
    for (const [name, tail] of cases) {
      // entries 4-14 hold ints: MEMOIZE then puts at 15 on
      const data = bytes(PREFIX, fill(11), tail, name.startsWith("cut") ? [] : [0x2e]);
      for (const o of budgets) {
        for (const chunk of [1 << 20, 13, 5]) {
          try {
            await same(data, o, chunk);
          } catch (e) {
            throw new Error(`${name} (${JSON.stringify(o)}, buffers of ${chunk}): ${(e as Error).message}`);
          }
        }
      }
    }
  });
});

describe("compact memoised calls: random streams", () => {
  it("are analysed as the machine alone analyses them", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.array(token, { maxLength: 12 }), fc.array(cleanBatch, { maxLength: 6 })),
        fc.array(use, { maxLength: 6 }),
        budgets,
        fc.integer({ min: 1, max: 64 }),
        fc.nat(4),
        fc.nat(),
        async (tokens, uses, machine, chunk, variant, cut) => {
          // entries 4-14 hold calls and ints: puts there are re-puts, GETs of them find a value
          const head = bytes(
            PREFIX,
            ...Array.from({ length: 11 }, (_, k) => (k % 3 === 0 ? fill(1) : bytes(call0(1), [0x94, 0x30]))),
          );
          const whole = bytes(head, ...tokens, ...uses, [0x2e]);
          // variant 4: the stream cut anywhere after the prefix
          const data = variant === 4 ? whole.subarray(0, head.length + (cut % (whole.length - head.length))) : whole;
          const o: Options = {
            machine: variant === 3 ? { containerCap: 1 } : machine,
            decoder: { maxOpcodes: variant === 0 ? 80 : 100_000 },
          };
          await same(data, o, chunk);
        },
      ),
      { seed: Number(process.env.ATTACK_SEED ?? 20261207), numRuns: Number(process.env.ATTACK_RUNS ?? 400) },
    );
  });
});

describe("compact memoised calls: runs that end whole", () => {
  it("give back each entry as the machine alone does", async () => {
    // batches the fast path counts to their end (calls memoised anywhere, literal items between),
    // then every entry fetched twice in one tuple, and some given a `__setstate__` and called
    const literal = fc.tuple(scalar, fc.option(put, { freq: 2 })).map(([x, m]) => bytes(x, m ?? []));
    // and the small alphabet skeletons are made of: items that start with the put of the one before
    const alike = fc.constantFrom(bytes([0x4b, 1]), bytes([0x4b, 2, 0x94]), bytes(call0(0), [0x94]), bytes([0x94]));
    const unit = fc.oneof(
      { weight: 3, arbitrary: cleanCall },
      { weight: 1, arbitrary: literal },
      { weight: 2, arbitrary: alike },
    );
    const whole = fc
      .array(fc.array(unit, { minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 5 })
      .map((bs) => bytes(...bs.map((b) => bytes([0x28], ...b, [0x65]))));
    await fc.assert(
      fc.asyncProperty(
        whole,
        fc.array(fc.integer({ min: 4, max: 24 }), { maxLength: 4 }),
        fc.constantFrom(0, 1, 2, 3, 4, 8, 64),
        fc.constantFrom(1 << 20, 61, 7),
        fc.boolean(),
        async (batches, hooked, memoDetailCap, chunk, ints) => {
          // entries 4-24 hold calls of argparse.Namespace and ints, or only ints (so that every GET
          // finds one; past a small detail budget, later puts then only mark entries present while
          // the memo still keeps references)
          const head = bytes(
            PREFIX,
            ...Array.from({ length: 21 }, (_, k) => (ints || k % 3 === 0 ? fill(1) : bytes(call0(1), [0x94, 0x30]))),
          );
          const gets = Array.from({ length: 21 }, (_, k) => binget(k + 4));
          const data = bytes(
            head,
            batches,
            [0x28],
            ...gets,
            ...gets,
            [0x74, 0x30],
            ...hooked.map((i) => bytes(binget(i), [0x7d], op.sbu("__setstate__"), binget(2), [0x73, 0x62, 0x30])),
            [0x28],
            ...hooked.map((i) => bytes(binget(i), op.sbu("echo pwned"), [0x62])),
            [0x74, 0x2e],
          );
          await same(data, { machine: { containerCap: 1, memoDetailCap, maxMemo: 10_000 } }, chunk);
        },
      ),
      { seed: Number(process.env.ATTACK_SEED ?? 20261207), numRuns: Number(process.env.ATTACK_RUNS ?? 300) },
    );
  });
});
