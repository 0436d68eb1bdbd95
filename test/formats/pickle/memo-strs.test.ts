/**
 * Strs memoised past the memo's detail budget are kept as text (memo-strs.ts): a large vocabulary
 * followed by objects that GET the names it memoised (a fitted vectorizer's shape). The table's own
 * rules (widths, overwrites, its byte budget), then whole pickles through the machine alone and the
 * fast path (its deferred runs and skeletons keep the texts too), cut in frames and buffers at
 * every kind of opcode boundary.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_KEPT_STR, StrTable } from "../../../src/formats/pickle/memo-strs.js";
import { analyze, binget, callees, deepValue, expectSameAnalyses, op, rules, u32le } from "./helpers.js";

describe("the str table", () => {
  it("gives back what it kept, latin-1 or wider, under any index", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.oneof(fc.nat(20), fc.integer({ min: 0, max: 2 ** 32 - 1 })),
            fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: "binary", maxLength: 12 }), fc.constant("é")),
          ),
          { maxLength: 60 },
        ),
        (puts) => {
          const table = new StrTable(1 << 22);
          const want = new Map<number, string>();
          for (const [i, text] of puts) {
            expect(table.setText(i, text)).toBe(true);
            want.set(i, text);
          }
          for (const [i, text] of want) expect(table.get(i)).toBe(text);
          expect(table.size).toBe(want.size);
          for (const i of want.keys()) table.delete(i);
          expect(table.size).toBe(0);
          for (const i of want.keys()) expect(table.get(i)).toBeUndefined();
        },
      ),
      { seed: 20261207, numRuns: 500 },
    );
  });

  it("keeps bytes as latin-1 text, and nothing past 127 code units", () => {
    const table = new StrTable(1 << 20);
    const buf = Uint8Array.from([0xff, 0x6e, 0x75, 0x6d, 0x70, 0x79, 0xe9, 0xfe]);
    expect(table.setBytes(3, buf, 1, 7)).toBe(true);
    expect(table.get(3)).toBe("numpy\u00e9");
    expect(table.setText(4, "x".repeat(MAX_KEPT_STR))).toBe(true);
    expect(table.setText(5, "x".repeat(MAX_KEPT_STR + 1))).toBe(false);
    expect(table.get(5)).toBeUndefined();
    // a str too long for it replaces a kept one: the entry holds nothing
    expect(table.setText(3, "y".repeat(200))).toBe(false);
    expect(table.get(3)).toBeUndefined();
    expect(table.size).toBe(1);
  });

  it("keeps a run of strs laid out at a stride as one str at a time would", () => {
    // strs of one width `len` bytes apart (length byte, text, other bytes), across blocks and
    // chunks of positions, within budgets that end inside the run
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 12 }),
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3000 }),
        fc.integer({ min: 0, max: 2 ** 20 }),
        fc.constantFrom(0, 20_000, 40_000, 1 << 22),
        (n, extra, stride, count, first, budget) => {
          const len = n + 1 + extra;
          const buf = new Uint8Array(count * len + 8);
          for (let h = 0; h < count; h++) {
            buf[4 + h * len] = n;
            for (let k = 0; k < n; k++) buf[4 + h * len + 1 + k] = 0x61 + ((h * 7 + k) % 26);
            for (let k = n + 1; k < len; k++) buf[4 + h * len + k] = 0xff;
          }
          const table = new StrTable(budget);
          const kept = table.setRun(first, stride, count, buf, 4, len, n);
          expect(kept).toBeLessThanOrEqual(count);
          if (budget === 1 << 22) expect(kept).toBe(count);
          for (let h = 0; h < count; h++) {
            const text = Buffer.from(buf.subarray(4 + h * len + 1, 4 + h * len + 1 + n)).toString("latin1");
            expect(table.get(first + h * stride)).toBe(h < kept ? text : undefined);
          }
          expect(table.size).toBe(kept);
        },
      ),
      { seed: 20261208, numRuns: 300 },
    );
  });

  it("allocates within its budget: positions by chunks of 4096 indexes, text by growing blocks", () => {
    expect(new StrTable(0).setText(0, "a")).toBe(false);
    // one chunk of positions (16 KiB) and a first 4 KiB block: 2048 strs of one byte (two with the
    // header), then the next block does not fit
    const table = new StrTable(16384 + 4096);
    let kept = 0;
    while (table.setText(kept, "a")) kept++;
    expect(kept).toBe(2048);
    expect(table.get(kept)).toBeUndefined();
    expect(table.get(2047)).toBe("a");
    // an index in another chunk: no room for its positions
    const other = new StrTable(16384 + 4096);
    expect(other.setText(0, "a")).toBe(true);
    expect(other.setText(4096, "a")).toBe(false);
    // sparse indexes cannot make it allocate past the budget
    const sparse = new StrTable(1 << 20);
    let n = 0;
    for (let i = 0; i < 2 ** 32 && n < 1000; i += 4096, n++) if (!sparse.setText(i, "a")) break;
    expect(n).toBeLessThan(64);
  });
});

// ---------------------------------------------------------------- pickles

/** `n` distinct words, with `extra` at the given positions. */
function vocabulary(n: number, extra: Record<number, string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(extra[i] ?? `w${i.toString(36)}${"abc".slice(0, i % 4)}`);
  return out;
}

/**
 * Protocol 4 with frames of about `frame` bytes. Unlike CPython's pickler (which ends frames only
 * before an object), a frame ends after any opcode: between a str and its MEMOIZE too.
 */
function framed(ops: Uint8Array[], frame: number): Uint8Array {
  const out: Uint8Array[] = [Uint8Array.from(op.proto(4))];
  let cur: Uint8Array[] = [];
  let size = 0;
  const flush = () => {
    if (size === 0) return;
    out.push(Uint8Array.from([0x95, ...u32le(size), 0, 0, 0, 0]), ...cur);
    cur = [];
    size = 0;
  };
  for (const o of ops) {
    cur.push(o);
    size += o.length;
    if (size >= frame) flush();
  }
  flush();
  return new Uint8Array(Buffer.concat(out));
}

const MEMOIZE = Uint8Array.from([0x94]);
/** Where the vocabulary's entries start in the memo (the container is entry 0). */
const FIRST = 1;

/**
 * A list of the words, memoised, in batches of 1000 (as CPython writes it), then `tail` (which
 * leaves the stack as it finds it: the list is the result).
 */
function listOf(words: string[], tail: Uint8Array[]): Uint8Array[] {
  const ops: Uint8Array[] = [Uint8Array.from([0x5d]), MEMOIZE];
  for (let b = 0; b < words.length; b += 1000) {
    ops.push(Uint8Array.from([0x28]));
    for (const w of words.slice(b, b + 1000)) ops.push(op.sbu(w), MEMOIZE);
    ops.push(Uint8Array.from([0x65]));
  }
  return [...ops, ...tail, Uint8Array.from(op.stop)];
}

/** A dict of the words to their positions, keys memoised, in batches of 1000, then `tail`. */
function dictOf(words: string[], tail: Uint8Array[]): Uint8Array[] {
  const ops: Uint8Array[] = [Uint8Array.from([0x7d]), MEMOIZE];
  for (let b = 0; b < words.length; b += 1000) {
    ops.push(Uint8Array.from([0x28]));
    words.slice(b, b + 1000).forEach((w, k) => {
      const i = b + k;
      ops.push(op.sbu(w), MEMOIZE, Uint8Array.from(i < 65536 ? [0x4d, i & 0xff, i >> 8] : [0x4a, ...u32le(i)]));
    });
    ops.push(Uint8Array.from([0x75]));
  }
  return [...ops, ...tail, Uint8Array.from(op.stop)];
}

/** `os.system('echo x')` whose module and name are memo GETs of entries `a` and `b`. */
const systemCall = (a: number, b: number) => [
  Uint8Array.from([...binget(a), ...binget(b), 0x93]),
  op.sbu("echo x"),
  Uint8Array.from([0x85, 0x52, 0x30]),
];

/**
 * GETs of entries `from` to `to` (exclusive), in tuples of up to 64 left on the stack: the
 * comparison of analyses compares their items (the texts read back).
 */
function probes(from: number, to: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = from; i < to; i += 64) {
    const gets = [0x28];
    for (let j = i; j < Math.min(to, i + 64); j++) gets.push(...binget(j));
    out.push(Uint8Array.from([...gets, 0x74]));
  }
  return out;
}

/** Whether an analysis's stack holds an entry the memo did not keep. */
const unread = (a: Awaited<ReturnType<typeof analyze>>) =>
  a.runs.some((r) => r.machine.stack.some((v) => JSON.stringify(deepValue(v)).includes("memo entry not kept")));

const N = 140_000;
const AT_OS = 135_001;
const AT_SYSTEM = 139_998;
const words = vocabulary(N, { [AT_OS]: "os", [AT_SYSTEM]: "system", 138000: "numpy", 138001: "dtype" });
const tail = [
  ...systemCall(FIRST + AT_OS, FIRST + AT_SYSTEM),
  // numpy.dtype: allowed, nothing reported
  Uint8Array.from([...binget(FIRST + 138_000), ...binget(FIRST + 138_001), 0x93, 0x30]),
];

describe("names memoised inside a large vocabulary", () => {
  for (const [shape, build] of [
    ["list", listOf],
    ["dict", dictOf],
  ] as const) {
    it(`are read back from a ${shape}, the same with and without the fast path`, async () => {
      // frames of 64 KiB as CPython's, of 1,000 bytes ending anywhere; buffers of 1 MiB and of
      // 997 bytes (the fast path's counting restarts wherever a buffer or a frame ends)
      const ops = build(words, [...tail, ...probes(131_000, N + FIRST)]);
      for (const [frame, chunk] of [
        [65536, 1 << 20],
        [1000, 1 << 20],
        [65536, 997],
        [1003, 4096],
      ] as const) {
        const data = framed(ops, frame);
        const a = await expectSameAnalyses(data, {}, chunk);
        expect(callees(a)).toContain("os.system");
        expect(rules(a)).toEqual(["pickle/dangerous-global"]);
        expect(unread(a)).toBe(false);
      }
    }, 120_000);
  }

  it("are read back when the fast path counts words of one width by a skeleton", async () => {
    // words of one width: the counting loop counts items by a skeleton, whose puts may be of the
    // str before the item (where a frame or a buffer ends between a str and its MEMOIZE)
    const even = vocabulary(N, {}).map((_, i) => `k${String(i).padStart(7, "0")}`);
    even[AT_OS] = "os";
    even[AT_SYSTEM] = "system";
    for (const build of [listOf, dictOf]) {
      // every word past the memo's detail budget read back
      const ops = build(even, [...systemCall(FIRST + AT_OS, FIRST + AT_SYSTEM), ...probes(131_000, N + FIRST)]);
      for (const [frame, chunk] of [
        [1000, 1 << 20],
        [1001, 1 << 20],
        [65536, 997],
        [65536, 1 << 20],
      ] as const) {
        const a = await expectSameAnalyses(framed(ops, frame), {}, chunk);
        expect(callees(a)).toContain("os.system");
        expect(rules(a)).toEqual(["pickle/dangerous-global"]);
        expect(unread(a)).toBe(false);
      }
    }
  }, 120_000);

  it("past the table's budget are unread literals: the analysis stops on its budget", async () => {
    const data = framed(dictOf(words, tail), 65536);
    for (const memoStrBytes of [0, 100_000]) {
      const a = await expectSameAnalyses(data, { machine: { memoStrBytes } });
      expect(rules(a)).toContain("scan/budget-exceeded");
      expect(rules(a)).not.toContain("pickle/dynamic-import");
      expect(callees(a)).not.toContain("os.system");
    }
    // a budget the words fit in
    expect(callees(await analyze(data, { machine: { memoStrBytes: 4 << 20 } }))).toContain("os.system");
  }, 120_000);

  it("an unread key of a BUILD state is a budget stop, not an attribute computed at run time", async () => {
    // collections.OrderedDict() built with {<entry not kept>: 1}
    const build = [
      Uint8Array.from([...op.global("collections", "OrderedDict"), 0x29, 0x52, 0x7d, 0x28]),
      Uint8Array.from([...binget(FIRST + AT_OS), 0x4b, 1, 0x75, 0x62, 0x30]),
    ];
    const data = framed(listOf(words, build), 65536);
    const a = await analyze(data, { machine: { memoStrBytes: 0 } });
    expect(rules(a)).toContain("scan/budget-exceeded");
    expect(rules(a)).not.toContain("pickle/monkeypatch");
    // kept: a str key, nothing to report
    expect(rules(await analyze(data))).toEqual([]);
  }, 60_000);
});
