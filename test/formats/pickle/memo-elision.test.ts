/**
 * The memo's sequence budget (`memoSeqCap`): past it, a tuple or list of scalars and strs is kept
 * only as its kind. What can name a callee is unaffected: strs and references memoised before or
 * after thousands of elided sequences still resolve exactly, a GET of an elided sequence fails
 * closed, and the fast path (which memoises such sequences without building them) analyses every
 * stream exactly as the machine alone does.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { PickleAnalysis } from "../../../src/formats/pickle/analyze.js";
import { Memo } from "../../../src/formats/pickle/memo.js";
import {
  PyDict,
  PyElidedSeq,
  PyRef,
  PySeq,
  PyStr,
  PyUnknown,
  preview,
  type RefSite,
  type Value,
} from "../../../src/formats/pickle/values.js";
import {
  analysisSummary,
  bytes,
  callees,
  fastPathAnalysis as fast,
  type StreamOptions as Options,
  op,
  rules,
  referenceAnalysis as slow,
} from "./helpers.js";

/** Both, which must agree; returns the fast one. */
async function both(data: Uint8Array, o: Options = {}, chunk = 1 << 20): Promise<PickleAnalysis> {
  const a = await fast(data, o, chunk);
  expect(analysisSummary(a)).toEqual(analysisSummary(await slow(data, o, chunk)));
  return a;
}

const f64 = (x: number) => {
  const b = Buffer.alloc(9);
  b[0] = 0x47;
  b.writeDoubleBE(x, 1);
  return b;
};
const u32 = (code: number, n: number) => {
  const b = Buffer.alloc(5);
  b[0] = code;
  b.writeUInt32LE(n >>> 0, 1);
  return b;
};
/** {@link bytes} for many parts (no spread). */
const cat = (parts: (number[] | Uint8Array)[]) => new Uint8Array(Buffer.concat(parts.map((x) => Uint8Array.from(x))));
const binget = (i: number) => (i < 256 ? bytes([0x68, i]) : u32(0x6a, i));
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

/**
 * `[(i, 's%07d' % i, i + 0.5, None) ...]` as CPython's pickler writes it (protocol 4, batches of
 * 1000, every str and tuple memoised: two memo entries per tuple), left on the stack.
 */
function tupleList(n: number, first = 0): Uint8Array {
  const parts: (number[] | Uint8Array)[] = [[0x5d, 0x94]];
  for (let b = 0; b < n; b += 1000) {
    parts.push([0x28]);
    for (let k = b; k < Math.min(n, b + 1000); k++) {
      const i = first + k;
      parts.push(
        [0x28],
        u32(0x4a, i),
        op.sbu(`s${String(i).padStart(7, "0")}`),
        [0x94],
        f64(i + 0.5),
        [0x4e, 0x74, 0x94],
      );
    }
    parts.push([0x65]);
  }
  return cat(parts);
}

/** `[[LONG1 x 3] ...]` as protocol 2 writes it (every inner list memoised by BINPUT/LONG_BINPUT). */
function intLists(n: number, firstIndex: number): Uint8Array {
  const parts: (number[] | Uint8Array)[] = [[0x5d], u32(0x72, firstIndex)];
  for (let b = 0; b < n; b += 1000) {
    parts.push([0x28]);
    for (let k = b; k < Math.min(n, b + 1000); k++) {
      parts.push(
        [0x5d],
        u32(0x72, firstIndex + 1 + k),
        [0x28],
        long1(2n ** 61n + BigInt(k)),
        long1(-5n),
        long1(7n),
        [0x65],
      );
    }
    parts.push([0x65]);
  }
  return cat(parts);
}

const site = {} as RefSite;

describe("memo: the sequence budget", () => {
  it("keeps the first plain tuples and lists, then only their kind; strs, refs and dicts as before", () => {
    const memo = new Memo(8, 1000, 2);
    const t = (...items: Value[]) => new PySeq("tuple", items);
    memo.store(0, t(1, PyStr.of("a")), 0);
    memo.store(1, new PySeq("list"), 0);
    memo.store(2, t(2n, null, true), 0); // third plain sequence: kind only
    memo.store(3, new PySeq("list", [0.5]), 0);
    memo.store(4, PyStr.of("os"), 0);
    memo.store(5, t(new PyRef("os.system", site)), 0); // holds a reference: not plain
    memo.store(6, t(t(1)), 0); // holds a tuple: not plain
    memo.store(7, new PyDict(), 0);
    memo.store(9, new PySeq("set"), 0);
    expect(memo.get(0)).toEqual(t(1, PyStr.of("a")));
    expect(memo.get(1)).toBeInstanceOf(PySeq);
    expect(memo.get(1)).not.toBeInstanceOf(PyElidedSeq);
    const elided = memo.get(2);
    expect(elided instanceof PyElidedSeq && [elided.kind, elided.count, elided.items.length]).toEqual(["tuple", -1, 0]);
    const list = memo.get(3);
    expect(list instanceof PyElidedSeq && list.kind).toBe("list");
    expect((memo.get(4) as PyStr).value).toBe("os");
    expect((memo.get(5) as PySeq).items[0]).toBeInstanceOf(PyRef);
    expect(memo.get(6)).not.toBeInstanceOf(PyElidedSeq);
    expect(memo.get(7)).toBeInstanceOf(PyDict);
    expect(memo.get(9)).not.toBeInstanceOf(PyElidedSeq);
    // each GET gets its own placeholder, which stays empty and never reads as complete
    expect(memo.get(2)).not.toBe(memo.get(2));
    const again = memo.get(3) as PySeq;
    again.push(1, 64);
    again.count += 5;
    expect([again.items.length, again.count]).toEqual([0, -1]);
    expect(preview(memo.get(2))).toBe("(<tuple not kept by the memo>)");
    // putSeqKind does what store does once the budget is spent (and refuses a put past maxMemo)
    expect(memo.putSeqKind(10, true)).toBe(true);
    expect(memo.get(10)).toBeInstanceOf(PyElidedSeq);
    const fresh = new Memo(8, 1000, 1);
    expect(fresh.putSeqKind(0, false)).toBe(false);
    const full = new Memo(8, 1, 0);
    expect(full.putSeqKind(0, false)).toBe(true);
    expect(full.putSeqKind(1, false)).toBe(false);
  });

  it("a str memoised early still names os.system after 200,000 elided memo entries", async () => {
    const data = bytes(
      op.proto(4),
      op.sbu("os"),
      [0x94],
      op.sbu("system"),
      [0x94, 0x30, 0x30],
      tupleList(100_000),
      [0x30],
      binget(0),
      binget(1),
      [0x93],
      op.bu("echo hi"),
      op.call1,
      op.stop,
    );
    for (const chunk of [1 << 20, 4096]) {
      const a = await both(data, {}, chunk);
      expect(callees(a)).toContain("os.system");
      expect(rules(a)).toEqual(["pickle/dangerous-global"]);
    }
  });

  it("strs memoised after thousands of elided tuples, inside the same batch, still resolve", async () => {
    // 6,000 tuples (past the 4,096 kept), then 'os' and 'system' memoised inside the next batch
    const head = tupleList(6_000);
    const n = 1 + 2 * 6_000; // memo entries so far (the list, then a str and a tuple per item)
    const data = bytes(
      op.proto(4),
      head.subarray(0, head.length - 1), // leave the last batch open
      op.sbu("os"),
      [0x94],
      op.sbu("system"),
      [0x94, 0x65, 0x30],
      binget(n),
      binget(n + 1),
      [0x93],
      op.bu("echo hi"),
      op.call1,
      op.stop,
    );
    const a = await both(data);
    expect(callees(a)).toContain("os.system");
    expect(rules(a)).toEqual(["pickle/dangerous-global"]);
  });

  it("a callable memoised after 200,000 elided entries, fetched by GET and called, is reported by name", async () => {
    const n = 1 + 200_000;
    const data = bytes(
      op.proto(4),
      tupleList(100_000),
      [0x30],
      op.global("os", "system"),
      [0x94, 0x30],
      intLists(5_000, n + 1),
      [0x30],
      binget(n),
      op.bu("echo hi"),
      op.call1,
      op.stop,
    );
    const a = await both(data);
    expect(callees(a)).toContain("os.system");
    const site = a.runs[0]?.machine.refs.get("os.system");
    expect(site?.callCount).toBe(1);
  });

  it("a GET of an elided sequence fails closed and keeps CPython's type errors", async () => {
    const o = { machine: { memoSeqCap: 0 } };
    // ('os',) memoised, then handed to importlib.import_module: a computed module name
    const importArgs = bytes(
      op.proto(4),
      op.sbu("os"),
      [0x85, 0x94, 0x30],
      op.sglobal("importlib", "import_module"),
      binget(0),
      [0x52, 0x2e],
    );
    expect(callees(await slow(importArgs))).toContain("os");
    const elided = await both(importArgs, o);
    expect(rules(elided)).toContain("pickle/dynamic-import");
    expect(callees(elided)).toContain("importlib.import_module");
    // a list is no argument tuple, an elided one neither; neither a list nor a tuple is callable
    const errors = async (data: Uint8Array) => {
      const exact = await both(data);
      const elided = await both(data, o);
      expect([exact.invalid, elided.invalid]).toEqual([true, true]);
      return elided.findings.map((f) => f.message).join("\n");
    };
    for (const seq of [[0x5d], [0x29]]) {
      const callee = bytes(op.proto(4), seq, [0x94, 0x30], binget(0), op.bu("x"), op.call1, op.stop);
      expect(await errors(callee)).toMatch(/which is not callable/);
    }
    const listArgs = bytes(op.proto(4), [0x5d, 0x94, 0x30], op.global("builtins", "print"), binget(0), [0x52, 0x2e]);
    expect(await errors(listArgs)).toMatch(/must be a tuple/);
    // bytes() of an elided int list handed to pickle.loads: the call is still critical
    const payload = bytes(
      op.proto(4),
      [0x5d, 0x94, 0x28, 0x4b, 0x80, 0x4b, 0x04, 0x4b, 0x2e, 0x65, 0x30],
      op.sglobal("pickle", "loads"),
      op.sglobal("builtins", "bytes"),
      binget(0),
      [0x85, 0x52, 0x85, 0x52, 0x2e],
    );
    const loads = await both(payload, o);
    expect(callees(loads)).toContain("pickle.loads");
    expect(loads.findings.some((f) => f.ruleId === "pickle/dangerous-global" && f.severity === "critical")).toBe(true);
  });

  it("int lists past the budget are counted without being built, and the result is exact", async () => {
    const data = bytes(op.proto(2), intLists(6_000, 0), op.stop);
    for (const chunk of [1 << 20, 1000]) {
      const a = await both(data, {}, chunk);
      expect(a.invalid).toBe(false);
      const result = a.runs[0]?.machine.result;
      expect(result instanceof PySeq && [result.count, result.items.length]).toEqual([6_000, 64]);
      const inner = result instanceof PySeq ? result.items[63] : undefined;
      expect(inner instanceof PySeq && inner.items).toEqual([2n ** 61n + 63n, -5, 7]);
    }
  });
});

// ---------------------------------------------------------------- random streams

const scalar = fc.oneof(
  fc.double({ noNaN: true }).map(f64),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map((n) => u32(0x4a, n)),
  fc.nat(255).map((n) => bytes([0x4b, n])),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(long1),
  fc.constantFrom("a", "os", "system", "__x", "é").map((s) => op.sbu(s)),
  fc.constantFrom(bytes([0x4e]), bytes([0x88]), bytes([0x89])),
);
const put = fc.oneof(
  { weight: 4, arbitrary: fc.constant(bytes([0x94])) },
  fc.nat(20).map((n) => bytes([0x71, n])),
  fc.nat(20).map((n) => u32(0x72, n)),
);
const memoized = (b: fc.Arbitrary<Uint8Array>) =>
  fc.tuple(b, fc.option(put, { freq: 2 })).map(([x, m]) => (m === null ? x : bytes(x, m)));
const frame = fc.nat(40).map((n) => bytes(op.frame(n)));
/** A tuple of literals as the pickler writes it: MARK items TUPLE, items TUPLE1-3, EMPTY_TUPLE. */
const flatTuple = fc.oneof(
  fc.array(memoized(scalar), { maxLength: 5 }).map((xs) => bytes([0x28], ...xs, [0x74])),
  fc.array(memoized(scalar), { minLength: 1, maxLength: 3 }).map((xs) => bytes(...xs, [0x84 + xs.length])),
  fc.constant(bytes([0x29])),
);
/** A tuple holding tuples. */
const nestedTuple = fc
  .array(fc.oneof(memoized(scalar), memoized(flatTuple)), { minLength: 1, maxLength: 3 })
  .map((xs) => bytes([0x28], ...xs, [0x74]));
const list = fc
  .tuple(
    fc.option(put, { freq: 4 }),
    fc.array(
      fc.oneof(
        memoized(scalar).map((x) => bytes(x, [0x61])),
        memoized(flatTuple).map((x) => bytes(x, [0x61])),
        fc.array(memoized(scalar), { maxLength: 6 }).map((xs) => bytes([0x28], ...xs, [0x65])),
      ),
      { maxLength: 3 },
    ),
    fc.option(put, { freq: 3 }),
  )
  .map(([m, parts, after]) => bytes([0x5d], m ?? [], ...parts, after ?? []));
const item = fc.oneof(
  { weight: 3, arbitrary: memoized(flatTuple) },
  { weight: 1, arbitrary: memoized(nestedTuple) },
  { weight: 3, arbitrary: list },
  { weight: 2, arbitrary: scalar },
);
/** GETs (placeholders flow into containers and calls) and noise the fast path leaves to `op`. */
const noise = fc.oneof(
  fc.nat(20).map((n) => bytes([0x68, n])),
  fc.constantFrom(
    bytes([0x28]),
    bytes([0x74]),
    bytes([0x85]),
    bytes([0x61]),
    bytes([0x65]),
    bytes([0x30]),
    bytes([0x52]),
    bytes([0x93]),
    op.global("os", "system"),
    op.global("builtins", "getattr"),
  ),
);
const batch = fc
  .tuple(
    fc.array(fc.tuple(item, fc.option(frame, { freq: 8 }), fc.option(noise, { freq: 6 })), { maxLength: 10 }),
    fc.constantFrom(bytes([0x65]), bytes([0x65]), bytes([0x75]), bytes([0x90]), bytes([0x74])),
  )
  .map(([items, end]) => bytes([0x28], ...items.flatMap((parts) => parts.filter((x) => x !== null)), end));
const token = fc.oneof(
  { weight: 6, arbitrary: batch },
  { weight: 2, arbitrary: fc.constantFrom(bytes([0x5d]), bytes([0x7d]), bytes([0x8f])) },
  { weight: 2, arbitrary: item },
  { weight: 2, arbitrary: noise },
  { weight: 1, arbitrary: frame },
);
const budgets = fc.record({
  containerCap: fc.integer({ min: 0, max: 3 }),
  memoDetailCap: fc.integer({ min: 0, max: 8 }),
  // strs past the detail budget: no room, room for one chunk of indexes and 4 KiB, the default
  memoStrBytes: fc.constantFrom(0, 16384 + 4096, 32 << 20),
  memoSeqCap: fc.integer({ min: 0, max: 3 }),
  maxStack: fc.integer({ min: 3, max: 40 }),
  maxMemo: fc.integer({ min: 2, max: 200 }),
  maxMarks: fc.integer({ min: 1, max: 6 }),
});

describe("memo sequence budget: fast path and machine agree", () => {
  it("on random streams of memoised tuples, lists and GETs under tiny budgets", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(token, { maxLength: 30 }),
        budgets,
        fc.integer({ min: 1, max: 80 }),
        fc.nat(3),
        async (tokens, machine, chunk, variant) => {
          const data = bytes(op.proto(4), ...tokens, [0x2e]);
          const o: Options = {
            machine: variant === 3 ? { containerCap: 0, memoSeqCap: 0 } : machine,
            decoder: { maxOpcodes: variant === 0 ? 40 : 100_000 },
          };
          expect(analysisSummary(await fast(data, o, chunk))).toEqual(analysisSummary(await slow(data, o, chunk)));
        },
      ),
      { seed: 20261207, numRuns: 2000 },
    );
  });

  it("an unknown value stays an unknown value", () => {
    const memo = new Memo(0, 10, 0);
    memo.store(0, new PyUnknown("x"), 0);
    expect(memo.get(0)).toBeInstanceOf(PyUnknown);
  });
});
