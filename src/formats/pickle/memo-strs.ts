/**
 * The strs the pickle memo keeps past its detail budget (see memo.ts), by memo index, as their
 * code units in an arena, within a budget of bytes.
 *
 * Why: a pickle memoises every str it writes once, at its first use. A fitted vectorizer's
 * vocabulary (hundreds of thousands of words) fills the memo before the objects that follow it
 * first name their modules and attributes (`numpy`, `dtype`, a state's keys), and each later use of
 * such a name is a GET of an entry past the detail budget. Had the memo kept only their presence,
 * those GETs would be unknown values: a STACK_GLOBAL that cannot be read (a budget stop), a BUILD
 * key that may be `__class__`. As bytes in an arena they cost the collector nothing; the budget
 * bounds them (past it a GET is unknown again, as before).
 * @module
 */
import { latin1 } from "./values.js";

/** Longest str kept, in code units (the header byte holds the length and the width flag). */
export const MAX_KEPT_STR = 127;
/** Header flag: two bytes per code unit (some code unit is past U+00FF). */
const WIDE = 0x80;
/** Memo indexes per chunk of positions (a chunk is 16 KiB). */
const CHUNK_BITS = 12;
const CHUNK = 1 << CHUNK_BITS;
const LOW = CHUNK - 1;
/** Largest arena block (the first is 4 KiB, each next one twice the last). */
const MAX_BLOCK = 1 << 20;

/** Strs by memo index. */
export class StrTable {
  /** Arena blocks and where each starts in the arena's offsets. */
  readonly #blocks: Uint8Array[] = [];
  readonly #starts: number[] = [];
  #cur = new Uint8Array(0);
  #curStart = 0;
  #curLen = 0;
  /** Positions (arena offset + 1; 0: none) by chunk of memo indexes. */
  readonly #chunks = new Map<number, Int32Array>();
  #lastKey = -1;
  #last: Int32Array | undefined;
  /** Bytes allocated (blocks and chunks). */
  #used = 0;
  #count = 0;
  /** An allocation did not fit the budget: nothing more is kept (a str then costs a check). */
  full = false;

  /** @param budget - most bytes the table allocates */
  constructor(private readonly budget: number) {}

  /** Entries kept. */
  get size(): number {
    return this.#count;
  }

  /** The chunk holding index `i`'s position, created when asked and the budget allows. */
  #chunk(i: number, create: boolean): Int32Array | undefined {
    const key = i >>> CHUNK_BITS;
    if (key === this.#lastKey) return this.#last;
    let chunk = this.#chunks.get(key);
    if (chunk === undefined) {
      if (!create) return undefined;
      if (this.#used + 4 * CHUNK > this.budget) {
        this.full = true;
        return undefined;
      }
      chunk = new Int32Array(CHUNK);
      this.#used += 4 * CHUNK;
      this.#chunks.set(key, chunk);
    }
    this.#lastKey = key;
    this.#last = chunk;
    return chunk;
  }

  /** The arena offset where `n` more bytes go, or -1 when the budget is spent. */
  #reserve(n: number): number {
    if (this.#curLen + n > this.#cur.length) {
      const size = Math.min(MAX_BLOCK, Math.max(4096, 2 * this.#cur.length));
      if (this.#used + size > this.budget) {
        this.full = true;
        return -1;
      }
      this.#curStart += this.#cur.length;
      this.#cur = new Uint8Array(size);
      this.#blocks.push(this.#cur);
      this.#starts.push(this.#curStart);
      this.#used += size;
      this.#curLen = 0;
    }
    const at = this.#curStart + this.#curLen;
    this.#curLen += n;
    return at;
  }

  /** Where a str of `n` code units (`wide`: two bytes each) goes; -1 (and `i` cleared) if it does not. */
  #place(i: number, n: number, wide: boolean): number {
    const chunk = n <= MAX_KEPT_STR && !this.full ? this.#chunk(i, true) : undefined;
    const at = chunk === undefined ? -1 : this.#reserve(1 + (wide ? 2 * n : n));
    if (at < 0) {
      this.delete(i);
      return -1;
    }
    const c = chunk as Int32Array;
    if (c[i & LOW] === 0) this.#count++;
    c[i & LOW] = at + 1;
    this.#cur[this.#curLen - (wide ? 2 * n : n) - 1] = n | (wide ? WIDE : 0);
    return this.#curLen - (wide ? 2 * n : n);
  }

  /**
   * Keeps `buf[start..end)` (latin-1 or ASCII text, one code unit per byte) as entry `i`.
   * @returns whether it did (else entry `i` holds nothing)
   */
  setBytes(i: number, buf: Uint8Array, start: number, end: number): boolean {
    // the common case inline (a str of a large pickle's memo: one call per str)
    const n = end - start;
    const key = i >>> CHUNK_BITS;
    const len = this.#curLen;
    const block = this.#cur;
    if (n > MAX_KEPT_STR || this.full || key !== this.#lastKey || len + n + 1 > block.length) {
      const at = this.#place(i, n, false);
      if (at < 0) return false;
      const b = this.#cur;
      for (let k = 0; k < n; k++) b[at + k] = buf[start + k] as number;
      return true;
    }
    block[len] = n;
    for (let k = 0; k < n; k++) block[len + 1 + k] = buf[start + k] as number;
    const chunk = this.#last as Int32Array;
    const slot = i & LOW;
    if (chunk[slot] === 0) this.#count++;
    chunk[slot] = this.#curStart + len + 1;
    this.#curLen = len + n + 1;
    return true;
  }

  /**
   * Keeps the texts of `count` strs laid out at a stride in `buf`, each SHORT_BINUNICODE's length
   * byte (`n`, at most 127) followed by its `n` bytes of text (latin-1 or ASCII), the first at
   * `buf[at]`, the others `len` bytes apart, as entries `first`, `first + stride` ... The bytes
   * between them are copied too (one copy for the lot: the length bytes are the headers), so this
   * spends `len` bytes of the budget per str where {@link StrTable.setBytes} spends `n + 1`.
   * @returns how many it kept (from the first; the others hold nothing)
   */
  setRun(first: number, stride: number, count: number, buf: Uint8Array, at: number, len: number, n: number): number {
    let done = 0;
    while (done < count && !this.full) {
      // as many as the current block holds, or a new block
      let room = this.#cur.length - this.#curLen;
      if (room < n + 1) {
        if (this.#reserve(n + 1) < 0) break;
        this.#curLen -= n + 1;
        room = this.#cur.length - this.#curLen;
      }
      const k = Math.min(count - done, Math.floor((room - n - 1) / len) + 1);
      const src = at + done * len;
      const span = (k - 1) * len + n + 1;
      const base = this.#curStart + this.#curLen;
      this.#cur.set(buf.subarray(src, src + span), this.#curLen);
      this.#curLen += span;
      for (let h = 0; h < k; ) {
        const i = first + (done + h) * stride;
        const chunk = this.#chunk(i, true);
        if (chunk === undefined) return done + h;
        // the entries of this chunk of positions
        let added = 0;
        for (let slot = i & LOW, pos = base + h * len + 1; h < k && slot < CHUNK; h++, slot += stride, pos += len) {
          if (chunk[slot] === 0) added++;
          chunk[slot] = pos;
        }
        this.#count += added;
      }
      done += k;
    }
    return done;
  }

  /**
   * Keeps `text` as entry `i`.
   * @returns whether it did (else entry `i` holds nothing)
   */
  setText(i: number, text: string): boolean {
    const n = text.length;
    let wide = false;
    for (let k = 0; k < n && !wide; k++) wide = text.charCodeAt(k) > 0xff;
    const at = this.#place(i, n, wide);
    if (at < 0) return false;
    const block = this.#cur;
    if (wide) {
      for (let k = 0; k < n; k++) {
        const c = text.charCodeAt(k);
        block[at + 2 * k] = c & 0xff;
        block[at + 2 * k + 1] = c >>> 8;
      }
    } else for (let k = 0; k < n; k++) block[at + k] = text.charCodeAt(k);
    return true;
  }

  /** Entry `i`'s text, if kept. */
  get(i: number): string | undefined {
    if (this.#count === 0) return undefined;
    const chunk = this.#chunk(i, false);
    const pos = chunk === undefined ? 0 : (chunk[i & LOW] as number);
    if (pos === 0) return undefined;
    const at = pos - 1;
    // the block holding `at`: the last whose start is at or before it (few blocks: a scan)
    let b = this.#starts.length - 1;
    while ((this.#starts[b] as number) > at) b--;
    const block = this.#blocks[b] as Uint8Array;
    const off = at - (this.#starts[b] as number);
    const head = block[off] as number;
    const n = head & ~WIDE;
    if ((head & WIDE) === 0) return latin1(block, off + 1, off + 1 + n);
    let text = "";
    for (let k = 0; k < n; k++)
      text += String.fromCharCode((block[off + 1 + 2 * k] as number) | ((block[off + 2 + 2 * k] as number) << 8));
    return text;
  }

  /** Forgets entry `i`. */
  delete(i: number): void {
    if (this.#count === 0) return;
    const chunk = this.#chunk(i, false);
    if (chunk !== undefined && chunk[i & LOW] !== 0) {
      chunk[i & LOW] = 0;
      this.#count--;
    }
  }
}
