/**
 * The memo's far part (dense window + map) keeps exactly what the plain map it replaced kept: a
 * reference model (the former implementation) and the memo agree on random puts and gets, ASCII
 * strs given as bytes (`storeAscii`, kept in the memo's arena) and calls without arguments given as
 * their callee and offset (`storeCall`, made on the first GET) included. Strs the far part does not
 * hold are kept as text (memo-strs.ts; the budget is not reached here: memo-strs.test.ts tests it).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Memo } from "../../../src/formats/pickle/memo.js";
import {
  PyCall,
  PyRef,
  PySeq,
  PyStr,
  PyUnknown,
  type RefSite,
  type Value,
} from "../../../src/formats/pickle/values.js";

const ELIDED = "<elided>";

/** The former memo: a map for every far entry. */
class ReferenceMemo {
  readonly dense = new Map<number, Value>();
  readonly far = new Map<number, Value>();
  /** Strs of up to 127 code units the far part does not hold: their text. */
  readonly strs = new Map<number, string>();
  readonly present = new Set<number>();
  farMax = -1;
  constructor(
    readonly detailCap: number,
    readonly max: number,
  ) {}
  get size(): number {
    return this.present.size;
  }
  store(i: number, v: Value): "ok" | "budget" {
    const fresh = !this.present.has(i);
    if (fresh) {
      if (this.present.size + 1 > this.max) return "budget";
      this.present.add(i);
    }
    if (i < this.detailCap) {
      this.dense.set(i, v);
      return "ok";
    }
    const far = this.far;
    this.strs.delete(i);
    if (v instanceof PyRef) {
      // a global is always kept (a GET of it must name it)
      far.set(i, v);
      if (i > this.farMax) this.farMax = i;
      return "ok";
    }
    const isRef = v instanceof PyUnknown || v instanceof PyCall;
    if (far.size < this.detailCap || isRef || (i <= this.farMax && far.has(i))) {
      if (far.size < this.detailCap * 4 || far.has(i)) {
        far.set(i, v);
        if (i > this.farMax) this.farMax = i;
        return "ok";
      }
    }
    if (!fresh && i <= this.farMax) far.delete(i);
    const text = typeof v === "string" ? v : v instanceof PyStr ? v.value : undefined;
    if (text !== undefined && text.length <= 127) this.strs.set(i, text);
    return "ok";
  }
  get(i: number): Value | undefined | string {
    if (!this.present.has(i)) return undefined;
    if (i < this.detailCap) return this.dense.get(i);
    return this.far.has(i) ? this.far.get(i) : (this.strs.get(i) ?? ELIDED);
  }
}

const site = {} as RefSite;
const callees = [new PyRef("collections.OrderedDict", site), new PyRef("argparse.Namespace", site)];
/** The call the machine makes for `REDUCE` of `callee` and an empty tuple at `offset`. */
const callOf = (callee: PyRef, offset: number) => new PyCall(callee, callee.name, new PySeq("tuple"), "REDUCE", offset);
const value = fc.oneof(
  fc.integer(),
  fc.constant(null),
  fc.string({ maxLength: 3 }),
  fc.constant(new PyRef("os.system", site)),
  fc.constant(PyStr.of("x")),
);

/** Random memo operations: an index (-1: the next one), a value, read or write, as bytes, as a call. */
const ops = (index: fc.Arbitrary<number>) =>
  fc.array(
    fc.tuple(
      index,
      value,
      fc.boolean(),
      fc.boolean(),
      fc.option(fc.tuple(fc.nat(1), fc.nat(1000), fc.boolean()), { freq: 3 }),
    ),
    { maxLength: 120 },
  );

/** Applies `list` to a memo and to the reference, comparing every read, then reads `probes` of both. */
function agree(
  cap: number,
  max: number,
  list: readonly [number, Value, boolean, boolean, [number, number, boolean] | null][],
  probes: readonly number[],
): void {
  const memo = new Memo(cap, max);
  const ref = new ReferenceMemo(cap, max);
  for (const [index, x, read, asBytes, call] of list) {
    const i = index === -1 ? memo.size : index;
    if (read) {
      const got = memo.get(i);
      const want = ref.get(i);
      expect(got instanceof PyUnknown ? ELIDED : got).toEqual(want);
      // a call made by a GET is kept: the next GET returns the same object
      if (got instanceof PyCall) expect(memo.get(i)).toBe(got);
      continue;
    }
    let v: Value = x;
    let r: "ok" | "budget" = "ok";
    try {
      if (call !== null) {
        const [which, offset, adopt] = call;
        const callee = callees[which] as PyRef;
        v = callOf(callee, offset);
        memo.storeCall(i, callee, offset, 0);
        // a machine that built the call hands it over: GETs then return that very object
        if (adopt) {
          memo.adoptCall(i, v as PyCall);
          if (memo.get(i) !== undefined && !(memo.get(i) instanceof PyUnknown)) expect(memo.get(i)).toBe(v);
        }
      } else if (asBytes && typeof v === "string" && [...v].every((c) => c.charCodeAt(0) < 0x80)) {
        // an ASCII str given as its bytes, between bytes that are not its own
        const bytes = Uint8Array.from([0xff, ...Buffer.from(v, "latin1"), 0xfe]);
        memo.storeAscii(i, bytes, 1, 1 + v.length, 0);
      } else memo.store(i, v, 0);
    } catch {
      r = "budget";
    }
    expect(r).toBe(ref.store(i, v));
    if (r === "budget") return; // the analysis stops there
    expect(memo.size).toBe(ref.size);
  }
  for (const i of probes) {
    const got = memo.get(i);
    expect(got instanceof PyUnknown ? ELIDED : got).toEqual(ref.get(i));
  }
}

describe("memo", () => {
  it("keeps what the reference keeps", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 6 }),
        fc.integer({ min: 1, max: 80 }),
        ops(fc.oneof(fc.constant(-1), fc.nat(14), fc.nat(14), fc.integer({ min: 0, max: 2 ** 32 - 1 }))),
        (cap, max, list) =>
          agree(
            cap,
            max,
            list,
            Array.from({ length: 60 }, (_, i) => i),
          ),
      ),
      { seed: 20261206, numRuns: 3000 },
    );
  });

  it("keeps what the reference keeps across the chunks of its arrays", () => {
    // The memo's arrays are chunks of 4096 entries: indexes on both sides of chunk boundaries, of
    // the detail cap and of the far window's end (4 * cap past it).
    const caps = [1, 4095, 4096, 5000];
    const near = (cap: number) =>
      [0, 1, 2, 3, 4, 5].flatMap((k) => [k * 4096, cap + k * 4096, 5 * cap]).flatMap((b) => [b - 1, b, b + 1]);
    const probes = [...new Set(caps.flatMap(near))].filter((i) => i >= 0);
    fc.assert(
      fc.property(
        fc.constantFrom(...caps),
        fc.integer({ min: 1, max: 40_000 }),
        ops(fc.oneof(fc.constant(-1), fc.constantFrom(...probes))),
        (cap, max, list) => agree(cap, max, list, probes),
      ),
      { seed: 20261207, numRuns: 1500 },
    );
  });

  it("hands a compact call over only while the entry still holds that call", () => {
    const [a, b] = callees as [PyRef, PyRef];
    for (const cap of [1, 2, 8]) {
      const memo = new Memo(cap, 100);
      for (const i of [1, 5, 20, 2 ** 31 - 1]) {
        memo.storeCall(i, a, 40, 0);
        // another offset or callee: another call, not handed over
        memo.adoptCall(i, callOf(a, 41));
        memo.adoptCall(i, callOf(b, 40));
        const made = memo.get(i);
        expect(made).toEqual(callOf(a, 40));
        // made by a GET: a later hand-over of an equal call changes nothing
        memo.adoptCall(i, callOf(a, 40));
        expect(memo.get(i)).toBe(made);
        // overwritten, then the same call again: the last put wins
        memo.storeCall(i, b, 7, 0);
        memo.store(i, 3, 0);
        memo.adoptCall(i, callOf(b, 7));
        expect(memo.get(i)).toBe(3);
        const built = callOf(b, 9);
        memo.storeCall(i, a, 8, 0);
        memo.storeCall(i, b, 9, 0);
        memo.adoptCall(i, callOf(a, 8));
        memo.adoptCall(i, built);
        expect(memo.get(i)).toBe(built);
      }
    }
  });
});
