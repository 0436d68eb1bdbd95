/**
 * The memo's far part (dense window + map) keeps exactly what the plain map it replaced kept: a
 * reference model (the former implementation) and the memo agree on random puts and gets, ASCII
 * strs given as bytes (`storeAscii`, kept in the memo's arena) included.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Memo } from "../../../src/formats/pickle/memo.js";
import { PyRef, PyStr, PyUnknown, type RefSite, type Value } from "../../../src/formats/pickle/values.js";

const ELIDED = "<elided>";

/** The former memo: a map for every far entry. */
class ReferenceMemo {
  readonly dense = new Map<number, Value>();
  readonly far = new Map<number, Value>();
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
    const isRef = v instanceof PyRef || v instanceof PyUnknown;
    if (far.size < this.detailCap || isRef || (i <= this.farMax && far.has(i))) {
      if (far.size < this.detailCap * 4 || far.has(i)) {
        far.set(i, v);
        if (i > this.farMax) this.farMax = i;
        return "ok";
      }
    }
    if (!fresh && i <= this.farMax) far.delete(i);
    return "ok";
  }
  get(i: number): Value | undefined | string {
    if (!this.present.has(i)) return undefined;
    if (i < this.detailCap) return this.dense.get(i);
    return this.far.has(i) ? this.far.get(i) : ELIDED;
  }
}

const site = {} as RefSite;
const value = fc.oneof(
  fc.integer(),
  fc.constant(null),
  fc.string({ maxLength: 3 }),
  fc.constant(new PyRef("os.system", site)),
  fc.constant(PyStr.of("x")),
);

describe("memo", () => {
  it("keeps what the reference keeps", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 6 }),
        fc.integer({ min: 1, max: 80 }),
        fc.array(
          fc.tuple(
            fc.oneof(fc.constant(-1), fc.nat(14), fc.nat(14), fc.integer({ min: 0, max: 2 ** 32 - 1 })),
            value,
            fc.boolean(),
            fc.boolean(),
          ),
          { maxLength: 120 },
        ),
        (cap, max, ops) => {
          const memo = new Memo(cap, max);
          const ref = new ReferenceMemo(cap, max);
          for (const [index, v, read, asBytes] of ops) {
            const i = index === -1 ? memo.size : index;
            if (read) {
              const got = memo.get(i);
              const want = ref.get(i);
              expect(got instanceof PyUnknown ? ELIDED : got).toEqual(want);
              continue;
            }
            let r: "ok" | "budget" = "ok";
            try {
              if (asBytes && typeof v === "string" && [...v].every((c) => c.charCodeAt(0) < 0x80)) {
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
          for (let i = 0; i < 60; i++) {
            const got = memo.get(i);
            expect(got instanceof PyUnknown ? ELIDED : got).toEqual(ref.get(i));
          }
        },
      ),
      { seed: 20261206, numRuns: 3000 },
    );
  });
});
