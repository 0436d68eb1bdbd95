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
  /**
   * The far part: values of entries from `detailCap` on. Those below `2 * detailCap` (where a
   * memo filled in order puts them) live in an array, the others in a map; `#farCount` counts both.
   */
  readonly #farDense: (Value | undefined)[] = [];
  readonly #farMap = new Map<number, Value>();
  #farCount = 0;
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

  /** Whether the far part holds a value for `i` (`i >= detailCap`). */
  #farHas(i: number): boolean {
    if (i > this.#farMax) return false;
    const j = i - this.detailCap;
    return j < this.detailCap ? this.#farDense[j] !== undefined : this.#farMap.has(i);
  }

  #farSet(i: number, v: Value): void {
    const j = i - this.detailCap;
    if (j < this.detailCap) {
      if (this.#farDense[j] === undefined) this.#farCount++;
      // a hole keeps an array's elements kind: fill up to j first (indexes come in order)
      while (this.#farDense.length < j) this.#farDense.push(undefined);
      this.#farDense[j] = v;
    } else {
      if (!this.#farMap.has(i)) this.#farCount++;
      this.#farMap.set(i, v);
    }
    if (i > this.#farMax) this.#farMax = i;
  }

  #farDelete(i: number): void {
    const j = i - this.detailCap;
    if (j < this.detailCap) {
      if (this.#farDense[j] !== undefined) {
        this.#farDense[j] = undefined;
        this.#farCount--;
      }
    } else if (this.#farMap.delete(i)) this.#farCount--;
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
    const count = this.#farCount;
    const held = !fresh && this.#farHas(i);
    if (count < this.detailCap || isReference(v) || held) {
      if (count < this.detailCap * 4 || held) {
        this.#farSet(i, v);
        return;
      }
    }
    if (!fresh && i <= this.#farMax) this.#farDelete(i);
  }

  /**
   * Does what `put(i, literal, _)` does when that keeps no value (entry `i` is only marked
   * present) and cannot exceed the budget; otherwise does nothing.
   * @returns whether it applied the put
   */
  putPresence(i: number): boolean {
    if (i < this.detailCap) return false;
    if (this.#farCount < this.detailCap || this.#farHas(i)) return false;
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
    if (i < this.detailCap || this.#farCount < this.detailCap || this.size >= this.max) return false;
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
    if (!this.#farHas(i)) return ELIDED;
    const j = i - this.detailCap;
    return (j < this.detailCap ? this.#farDense[j] : this.#farMap.get(i)) as Value;
  }
}
