/**
 * The pickle machine's memo: exact presence of every index, values kept in full up to a detail
 * budget, then only the values that can name a callee. Tuples and lists of scalars and strs have a
 * smaller budget of their own: past it the memo keeps only their kind.
 * @module
 */
import { PickleError } from "./decoder.js";
import { StrTable } from "./memo-strs.js";
import { isArrayWrapperName } from "./pymodel.js";
import {
  DROPPED,
  ELIDED,
  isPlainSeq,
  latin1,
  markEscaped,
  materialize,
  PyCall,
  PyCode,
  PyElidedSeq,
  PyNamespace,
  PyOperator,
  PyPartial,
  PyPersistent,
  PyRef,
  PySeq,
  PyStr,
  PyUnknown,
  type Value,
} from "./values.js";

export { ELIDED } from "./values.js";

/** What the memo stores for a plain tuple or list past the sequence budget (never returned). */
const KIND_TUPLE = new PyElidedSeq("tuple");
const KIND_LIST = new PyElidedSeq("list");
/**
 * What the memo stores for a str kept as its bytes in the arena (see {@link Memo.storeAscii}; never
 * returned). A str: the memo's rules treat it as one.
 */
const ARENA_STR = PyStr.of("");
/** Longest str the arena keeps. */
const ARENA_MAX_STR = 255;

/**
 * What the memo stores for a call result kept compactly (see {@link Memo.storeCall}; never
 * returned): one per callee, the call's offset kept beside it. A call: the memo's rules treat it as
 * one (a reference).
 */
class CompactCall extends PyCall {
  /** @param callee - the callee whose calls it stands for */
  constructor(callee: PyRef) {
    super(callee, callee.name, null, "REDUCE", -1);
  }
}

/** Bytes the strs kept past the far part's values may take by default (see memo-strs.ts). */
export const DEFAULT_STR_BYTES = 16 << 20;

/** Entries per chunk of the memo's arrays (a chunk of values is 32 KiB: a regular heap object). */
const CHUNK_BITS = 12;
const CHUNK = 1 << CHUNK_BITS;
const LOW = CHUNK - 1;

/**
 * Values by index, in chunks of {@link CHUNK} allocated on the first write into them. One array
 * grown by doubling was a new large object at each doubling, on fresh pages from the kernel: a
 * process scanning 2 MB pickles of 250,000 memoized calls took 1,550 page faults and 13–16 ms of
 * kernel time per scan of 48–56 ms (33 ms with chunks). Chunks are regular heap objects, on pages
 * the heap reuses, and are never copied.
 */
class Slots {
  readonly #chunks: (Value | undefined)[][] = [];

  get(i: number): Value | undefined {
    const chunk = this.#chunks[i >>> CHUNK_BITS];
    return chunk === undefined ? undefined : chunk[i & LOW];
  }

  set(i: number, v: Value | undefined): void {
    const chunk = this.#chunks[i >>> CHUNK_BITS] ?? this.#grow(i >>> CHUNK_BITS);
    chunk[i & LOW] = v;
  }

  #grow(k: number): (Value | undefined)[] {
    // the directory has holes where nothing was written (a few hundred entries at most)
    const chunk = new Array<Value | undefined>(CHUNK).fill(undefined);
    this.#chunks[k] = chunk;
    return chunk;
  }
}

/** Numbers by index (0 where never written), in chunks as {@link Slots}. */
class NumberSlots {
  readonly #chunks: Float64Array[] = [];

  get(i: number): number {
    const chunk = this.#chunks[i >>> CHUNK_BITS];
    return chunk === undefined ? 0 : (chunk[i & LOW] as number);
  }

  set(i: number, v: number): void {
    let chunk = this.#chunks[i >>> CHUNK_BITS];
    if (chunk === undefined) {
      chunk = new Float64Array(CHUNK);
      this.#chunks[i >>> CHUNK_BITS] = chunk;
    }
    chunk[i & LOW] = v;
  }
}

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
 * in a map; past that only references are kept, strs of up to 127 code units are kept as text
 * while a byte budget allows (`strBytes`, see memo-strs.ts), and other entries are only marked
 * present (a GET of one yields an unknown value, so a callee built from it is reported as
 * unresolvable, and a STACK_GLOBAL naming one stops the analysis on its budget).
 *
 * Tuples and lists whose kept items are all scalars or strs ({@link isPlainSeq}) are kept only
 * for the first `seqCap` puts that keep a value; later ones keep only their kind (a GET yields a
 * {@link PyElidedSeq}: CPython's type errors stay exact, the items are unknown). Such a sequence
 * holds no reference, so what a GET of it loses is literal data: a name taken from it by a
 * resolver (`getattr`, `import_module` ...) becomes a computed name (`pickle/dynamic-import`), a
 * payload made of it is not decoded, and any call it reaches is still reported. This is what
 * spares opcode-dense pickles (millions of memoised tuples and int lists) from building and
 * retaining them.
 */
export class Memo {
  readonly #dense = new Slots();
  /**
   * The far part: values of entries from `detailCap` on. Those below `detailCap + #farWindow`
   * (where a memo filled in order puts them: `detailCap` entries, then only references, at most
   * `4 * detailCap` in all) live in an array, the others in a map; `#farCount` counts both.
   */
  readonly #farDense = new Slots();
  readonly #farMap = new Map<number, Value>();
  #farCount = 0;
  #farMax = -1;
  /** Entries of the far part's array (`4 * detailCap`). */
  readonly #farWindow: number;
  /** Every index below it is present (MEMOIZE fills the memo in order: no bit needed). */
  #contig = 0;
  /** Presence of indexes from `#contig` up to 2**28 (others in `#sparse`). */
  #bits = new Uint8Array(1024);
  readonly #sparse = new Set<number>();
  size = 0;

  /** Puts that kept a plain tuple or list (at most `seqCap`). */
  #seqKept = 0;

  /**
   * ASCII strs of the dense and far-dense parts kept as bytes: the arena (append-only, so a
   * grown copy leaves earlier views intact) and each entry's start and end in it. Memoised dict
   * keys and names are most of a large pickle's early entries: as bytes they cost the collector
   * nothing (one object per entry did, and scavenges copied them all).
   */
  #arena = new Uint8Array(0);
  #arenaLen = 0;
  #strPos = new Int32Array(0);

  /**
   * Calls kept compactly ({@link Memo.storeCall}): the stand-in of each callee (the last one used
   * is cached), and each entry's call offset, by index (dense and far-dense parts) or in a map.
   */
  readonly #compact = new Map<PyRef, CompactCall>();
  #lastCompact: CompactCall | undefined;
  readonly #callOff = new NumberSlots();
  readonly #callOffFar = new Map<number, number>();

  /** Strs of the far part its values do not hold (see memo-strs.ts). */
  readonly #strs: StrTable;

  /**
   * @param detailCap - entries kept in full (and as many more in the far part)
   * @param max - most entries (a put past it is a budget error)
   * @param seqCap - puts of plain tuples and lists that keep their items
   * @param strBytes - bytes the strs past the far part's values may take (see memo-strs.ts)
   */
  constructor(
    private readonly detailCap: number,
    private readonly max: number,
    private readonly seqCap: number = Number.POSITIVE_INFINITY,
    strBytes: number = DEFAULT_STR_BYTES,
  ) {
    this.#farWindow = 4 * detailCap;
    this.#strs = new StrTable(strBytes);
  }

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
    return j < this.#farWindow ? this.#farDense.get(j) !== undefined : this.#farMap.has(i);
  }

  #farSet(i: number, v: Value): void {
    const j = i - this.detailCap;
    if (j < this.#farWindow) {
      if (this.#farDense.get(j) === undefined) this.#farCount++;
      this.#farDense.set(j, v);
    } else {
      if (!this.#farMap.has(i)) this.#farCount++;
      this.#farMap.set(i, v);
    }
    if (i > this.#farMax) this.#farMax = i;
  }

  #farDelete(i: number): void {
    const j = i - this.detailCap;
    if (j < this.#farWindow) {
      if (this.#farDense.get(j) !== undefined) {
        this.#farDense.set(j, undefined);
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
      this.#dense.set(i, this.#kept(v));
      return;
    }
    this.#strs.delete(i);
    if (v instanceof PyRef || (v instanceof PyCall && v.calleeName !== undefined && isArrayWrapperName(v.calleeName))) {
      // a global is always kept (a GET of it must name it; the memo budget bounds them), and so
      // is a joblib array wrapper (a BUILD of it is followed by array data that must be skipped)
      this.#farSet(i, v);
      return;
    }
    const count = this.#farCount;
    const held = !fresh && this.#farHas(i);
    if (count < this.detailCap || isReference(v) || held) {
      if (count < this.detailCap * 4 || held) {
        this.#farSet(i, this.#kept(v));
        return;
      }
    }
    if (!fresh && i <= this.#farMax) this.#farDelete(i);
    // a str is kept as text while the budget allows
    if (typeof v === "string") this.#strs.setText(i, v);
    else if (v instanceof PyStr) {
      if (v !== ARENA_STR) this.#strs.setText(i, v.value); // (storeAscii keeps ARENA_STR's bytes)
    } else markEscaped(v, DROPPED); // not kept: a later GET cannot show what the value holds
  }

  /**
   * Does what `store(i, text)` does for the str of ASCII bytes `buf[start..end)` (the caller checked
   * them), keeping the bytes instead of a string when the entry is in the dense or far-dense part.
   */
  storeAscii(i: number, buf: Uint8Array, start: number, end: number, offset: number): void {
    const n = end - start;
    if (i >= 2 * this.detailCap || n > ARENA_MAX_STR) {
      const fresh = !this.#has(i);
      if (n > ARENA_MAX_STR || this.#farCount < this.detailCap || this.#farHas(i) || (fresh && this.size >= this.max)) {
        this.store(i, latin1(buf, start, end), offset);
        return;
      }
      // where `store` would keep only its text (the far part keeps no more strs): no string built
      if (fresh) {
        this.size++;
        this.#mark(i);
      }
      this.#strs.setBytes(i, buf, start, end);
      return;
    }
    const at = this.#arenaLen;
    if (at + n > this.#arena.length) {
      const next = new Uint8Array(Math.max(4096, 2 * this.#arena.length, at + n));
      next.set(this.#arena.subarray(0, at));
      this.#arena = next;
    }
    const arena = this.#arena;
    for (let k = 0; k < n; k++) arena[at + k] = buf[start + k] as number;
    this.store(i, ARENA_STR, offset);
    const kept = i < this.detailCap ? this.#dense.get(i) : this.#farDense.get(i - this.detailCap);
    if (kept !== ARENA_STR) {
      this.#arenaLen = at; // not kept: the bytes are given back, the text kept as `store` keeps it
      this.#strs.setBytes(i, buf, start, end);
      return;
    }
    this.#arenaLen = at + n;
    if (2 * i + 2 > this.#strPos.length) {
      const next = new Int32Array(Math.min(4 * this.detailCap, Math.max(2048, 2 * this.#strPos.length, 2 * i + 2)));
      next.set(this.#strPos);
      this.#strPos = next;
    }
    this.#strPos[2 * i] = at;
    this.#strPos[2 * i + 1] = at + n;
  }

  /**
   * Does what `store(i, call)` does for `call = new PyCall(callee, callee.name, new
   * PySeq("tuple"), "REDUCE", offset)` (a call of `callee` with no arguments that nothing else
   * refers to yet), keeping only the callee and the offset: {@link Memo.get} makes the call on the
   * first GET and keeps it (a machine that builds the call itself hands it over with
   * {@link Memo.adoptCall}). A large pickle's memoised instances cost the collector nothing this way.
   * @param putOffset - the put's offset (a budget error's)
   */
  storeCall(i: number, callee: PyRef, offset: number, putOffset: number): void {
    let mark = this.#lastCompact;
    if (mark === undefined || mark.callee !== callee) {
      mark = this.#compact.get(callee);
      if (mark === undefined) {
        mark = new CompactCall(callee);
        this.#compact.set(callee, mark);
      }
      this.#lastCompact = mark;
    }
    // The common case, a memo filled in order (CPython's pickler): what `store` does for a fresh
    // entry kept in the dense part or the far part's array, without its general checks.
    if (i === this.#contig && this.size < this.max) {
      const j = i - this.detailCap;
      if (j < 0) {
        this.size++;
        this.#mark(i);
        this.#dense.set(i, mark);
        this.#callOff.set(i, offset);
        return;
      }
      if (j < this.#farWindow && this.#farCount < this.#farWindow) {
        this.size++;
        this.#mark(i);
        this.#farSet(i, mark);
        this.#callOff.set(i, offset);
        return;
      }
    }
    this.store(i, mark, putOffset);
    if (i < this.detailCap + this.#farWindow) {
      const kept = i < this.detailCap ? this.#dense.get(i) : this.#farDense.get(i - this.detailCap);
      if (kept !== mark) return;
      this.#callOff.set(i, offset);
    } else if (this.#farMap.get(i) === mark) this.#callOffFar.set(i, offset);
  }

  /** The offset of the compact call at `i` (see {@link Memo.storeCall}). */
  #offsetOf(i: number): number {
    return i < this.detailCap + this.#farWindow ? this.#callOff.get(i) : (this.#callOffFar.get(i) as number);
  }

  /** Replaces the value of entry `i` (present, kept) by `v`. */
  #replace(i: number, v: Value): void {
    if (i < this.detailCap) this.#dense.set(i, v);
    else if (i - this.detailCap < this.#farWindow) this.#farDense.set(i - this.detailCap, v);
    else {
      this.#farMap.set(i, v);
      this.#callOffFar.delete(i);
    }
  }

  /** The value kept for entry `i` (present or not), as stored. */
  #raw(i: number): Value | undefined {
    if (i < this.detailCap) return this.#dense.get(i);
    if (i > this.#farMax) return undefined;
    const j = i - this.detailCap;
    return j < this.#farWindow ? this.#farDense.get(j) : this.#farMap.get(i);
  }

  /**
   * Hands over the call a machine built for a call stored by {@link Memo.storeCall}: when entry
   * `i` still holds that call (same callee and offset, not yet made by a GET), it becomes `call`.
   */
  adoptCall(i: number, call: PyCall): void {
    const v = this.#raw(i);
    if (v instanceof CompactCall && v.callee === call.callee && this.#offsetOf(i) === call.offset && this.#has(i))
      this.#replace(i, call);
  }

  /** What the memo keeps of a value it stores: a plain tuple or list past the budget is its kind. */
  #kept(v: Value): Value {
    if (!(v instanceof PySeq) || v === KIND_TUPLE || v === KIND_LIST || !isPlainSeq(v)) return v;
    if (this.#seqKept >= this.seqCap) {
      markEscaped(v, DROPPED); // kept as its kind only: items added to it later are not seen
      return v.kind === "list" ? KIND_LIST : KIND_TUPLE;
    }
    this.#seqKept++;
    return v;
  }

  /**
   * Does what `put(i, seq, _)` does for a tuple or list of scalars and strs when the memo keeps
   * only its kind (the sequence budget is spent) and the put cannot exceed the memo budget;
   * otherwise does nothing.
   * @param i - memo index
   * @param list - a list (else a tuple)
   * @returns whether it applied the put
   */
  putSeqKind(i: number, list: boolean): boolean {
    if (this.#seqKept < this.seqCap) return false;
    if (this.size >= this.max && !this.#has(i)) return false;
    this.store(i, list ? KIND_LIST : KIND_TUPLE, 0);
    return true;
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
    } else this.#strs.delete(i);
    return true;
  }

  /**
   * Keeps the text of the str at entry `i`, an entry a put of that str only marked present
   * ({@link Memo.advance}): `buf[start..end)`, ASCII.
   */
  keepText(i: number, buf: Uint8Array, start: number, end: number): void {
    if (!this.#strs.full) this.#strs.setBytes(i, buf, start, end);
  }

  /**
   * Keeps the texts of strs at entries `first`, `first + stride` ..., present by
   * {@link Memo.advance}: see {@link StrTable.setRun} (`count` SHORT_BINUNICODE strs of `n` ASCII
   * bytes, `len` bytes apart from `buf[at]`, their length bytes).
   */
  keepTexts(first: number, stride: number, count: number, buf: Uint8Array, at: number, len: number, n: number): void {
    if (!this.#strs.full) this.#strs.setRun(first, stride, count, buf, at, len, n);
  }

  /** Whether {@link Memo.keepText} may still keep a text (its budget is not spent). */
  get keepsText(): boolean {
    return !this.#strs.full;
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

  /**
   * How many puts at the next index (`size`, as MEMOIZE puts) {@link Memo.appendPresence} would
   * apply in a row from now on, each only marking its entry present (0: not even one).
   */
  appendRoom(): number {
    const i = this.size;
    if (i !== this.#contig || i <= this.#farMax || i < this.detailCap || this.#farCount < this.detailCap) return 0;
    return Math.max(0, Math.min(this.max, 1 << 28) - i);
  }

  /**
   * Applies `k` puts at the next index that {@link Memo.appendRoom} allowed: what `k` calls of
   * {@link Memo.appendPresence} would do.
   */
  advance(k: number): void {
    this.size += k;
    this.#contig += k;
  }

  /** Whether a put of a fresh entry would exceed the budget. */
  get full(): boolean {
    return this.size >= this.max;
  }

  /**
   * The value of entry `i` when it is a reference to a name ({@link PyRef}), as {@link Memo.get}
   * returns it; undefined otherwise (no side effect: the fast path asks).
   */
  refAt(i: number): PyRef | undefined {
    let v: Value | undefined;
    if (i < this.detailCap) v = this.#dense.get(i);
    else if (i <= this.#farMax) {
      const j = i - this.detailCap;
      v = j < this.#farWindow ? this.#farDense.get(j) : this.#farMap.get(i);
    }
    return v instanceof PyRef && this.#has(i) ? v : undefined;
  }

  get(i: number): Value | undefined {
    if (!this.#has(i)) return undefined;
    let v: Value;
    if (i < this.detailCap) v = this.#dense.get(i) as Value;
    else if (!this.#farHas(i)) return this.#strs.get(i) ?? ELIDED;
    else {
      const j = i - this.detailCap;
      v = (j < this.#farWindow ? this.#farDense.get(j) : this.#farMap.get(i)) as Value;
    }
    if (v === ARENA_STR) {
      const pos = this.#strPos;
      const text = latin1(this.#arena, pos[2 * i] as number, pos[2 * i + 1] as number);
      if (i < this.detailCap) this.#dense.set(i, text);
      else this.#farDense.set(i - this.detailCap, text);
      return text;
    }
    if (v instanceof CompactCall) {
      const callee = v.callee as PyRef;
      const call = new PyCall(callee, callee.name, new PySeq("tuple"), "REDUCE", this.#offsetOf(i));
      this.#replace(i, call);
      return call;
    }
    // a fresh placeholder per GET, as each GET of a real sequence may be appended to apart
    if (v === KIND_TUPLE) return new PyElidedSeq("tuple");
    if (v === KIND_LIST) return new PyElidedSeq("list");
    return v;
  }
}
