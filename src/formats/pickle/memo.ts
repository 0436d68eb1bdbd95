/**
 * The pickle machine's memo: exact presence of every index, values kept in full up to a detail
 * budget, then only the values that can name a callee.
 * @module
 */
import { PickleError } from "./decoder.js";
import {
  materialize,
  PyCall,
  PyCode,
  PyNamespace,
  PyOperator,
  PyPartial,
  PyPersistent,
  PyRef,
  PyStr,
  PyUnknown,
  type Value,
} from "./values.js";

const ELIDED = new PyUnknown("memo entry not kept (memo larger than the detail budget)");

/** Whether a value is worth keeping in a large memo (it can name a callee). */
function isReference(v: Value): boolean {
  if (v === null || typeof v !== "object" || v instanceof PyStr) return false;
  return (
    v instanceof PyRef ||
    v instanceof PyCall ||
    v instanceof PyPartial ||
    v instanceof PyOperator ||
    v instanceof PyNamespace ||
    v instanceof PyCode ||
    v instanceof PyPersistent ||
    v instanceof PyUnknown
  );
}

/**
 * The memo. Entries below `detailCap` live in a dense array; up to `detailCap` further entries
 * in a map; past that only references are kept and other entries are only marked present (a GET
 * of one yields an unknown value, so a callee built from it is reported as unresolvable).
 */
export class Memo {
  readonly #dense: (Value | undefined)[] = [];
  readonly #far = new Map<number, Value>();
  #farMax = -1;
  /** Every index below it is present (MEMOIZE fills the memo in order: no bit needed). */
  #contig = 0;
  /** Presence of indexes from `#contig` up to 2**28 (others in `#sparse`). */
  #bits = new Uint8Array(1024);
  readonly #sparse = new Set<number>();
  size = 0;

  constructor(
    private readonly detailCap: number,
    private readonly max: number,
  ) {}

  #has(i: number): boolean {
    if (i < this.#contig) return true;
    if (i < this.#bits.length * 8) return ((this.#bits[i >>> 3] as number) & (1 << (i & 7))) !== 0;
    return i >= 1 << 28 && this.#sparse.has(i);
  }

  #mark(i: number): void {
    if (i === this.#contig) {
      let c = i + 1;
      const bits = this.#bits;
      while (c < bits.length * 8 && ((bits[c >>> 3] as number) & (1 << (c & 7))) !== 0) c++;
      this.#contig = c;
    } else if (i < 1 << 28) {
      if (i >= this.#bits.length * 8) {
        let n = this.#bits.length * 2;
        while (n * 8 <= i) n *= 2;
        const next = new Uint8Array(n);
        next.set(this.#bits);
        this.#bits = next;
      }
      this.#bits[i >>> 3] = (this.#bits[i >>> 3] as number) | (1 << (i & 7));
    } else {
      this.#sparse.add(i);
    }
  }

  put(i: number, v: Value, offset: number): void {
    this.store(i, materialize(v), offset);
  }

  /** {@link Memo.put} of a value that refers to no input buffer (no lazy str inside). */
  store(i: number, v: Value, offset: number): void {
    const fresh = !this.#has(i);
    if (fresh) {
      this.size++;
      if (this.size > this.max)
        throw new PickleError(`memo larger than ${this.max} entries`, offset, "budget", "maxMemo");
      this.#mark(i);
    }
    if (i < this.detailCap) {
      this.#dense[i] = v;
      return;
    }
    const far = this.#far;
    if (far.size < this.detailCap || isReference(v) || (i <= this.#farMax && far.has(i))) {
      if (far.size < this.detailCap * 4 || far.has(i)) {
        far.set(i, v);
        if (i > this.#farMax) this.#farMax = i;
        return;
      }
    }
    if (!fresh && i <= this.#farMax) far.delete(i);
  }

  /**
   * Does what `put(i, literal, _)` does when that keeps no value (entry `i` is only marked
   * present) and cannot exceed the budget; otherwise does nothing.
   * @returns whether it applied the put
   */
  putPresence(i: number): boolean {
    if (i < this.detailCap) return false;
    const far = this.#far;
    if (far.size < this.detailCap || (i <= this.#farMax && far.has(i))) return false;
    if (!this.#has(i)) {
      if (this.size >= this.max) return false;
      this.size++;
      this.#mark(i);
    }
    return true;
  }

  /**
   * {@link Memo.putPresence} for the next index of a memo filled in order, the common case of
   * large pickles (MEMOIZE): a few comparisons.
   */
  appendPresence(i: number): boolean {
    // #mark keeps #contig past every marked index: entry #contig is never present
    if (i !== this.#contig || i >= 1 << 28 || i <= this.#farMax) return false;
    if (i < this.detailCap || this.#far.size < this.detailCap || this.size >= this.max) return false;
    this.size++;
    this.#contig = i + 1;
    return true;
  }

  /** Whether a put of a fresh entry would exceed the budget. */
  get full(): boolean {
    return this.size >= this.max;
  }

  get(i: number): Value | undefined {
    if (!this.#has(i)) return undefined;
    if (i < this.detailCap) return this.#dense[i] as Value;
    const v = this.#far.get(i);
    return v !== undefined || this.#far.has(i) ? v : ELIDED;
  }
}
