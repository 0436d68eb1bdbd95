/**
 * The pickle machine's fast path: executes the opcodes that dominate opcode-dense pickles straight
 * from the decoder's buffer, exactly as {@link PickleMachine.op} would (see {@link FastSink}).
 * Which opcodes it executes and their widths come from the opcode table.
 * @module
 */
import { ModelgateError } from "../../errors.js";
import type { Memo } from "./memo.js";
import { FIXED_LITERAL, FIXED_WIDTH, LENGTH_BYTES, OP } from "./opcodes.js";
import { latin1, PyDict, PyFloat, PySeq, type PyStr, type Value } from "./values.js";

// PickleMachine.fastRun executes the opcodes that dominate opcode-dense pickles (literal pushes,
// MARK, memo puts, and the APPENDS/SETITEMS that end a batch) straight from the decoder's
// buffer. When a MARK is set over a list, set or dict that already holds `containerCap` items,
// the literals of the batch that follows are not even built: they can only be counted by the
// container. The machine then keeps just where the batch starts in the buffer and how many
// items it holds (a "deferred run"). A batch that ends in APPENDS/ADDITEMS/SETITEMS on that
// container adds the count; anything else first re-reads the run from the buffer and pushes
// the exact values (the machine is then in the same state as without the fast path). Memo puts
// inside a run store the exact value of the top item, read back from its bytes, whenever the
// memo keeps it.

/** Width of the literal opcodes of fixed width the fast path executes (0: not one), from the table. */
const LITERAL_WIDTH = new Uint8Array(256);
for (let c = 0; c < 256; c++) if (FIXED_LITERAL[c] === 1) LITERAL_WIDTH[c] = FIXED_WIDTH[c] as number;
/** The memo puts the fast path executes. */
const MEMO_PUTS = ["MEMOIZE", "BINPUT", "LONG_BINPUT"] as const;
/** The strs the fast path executes (short ASCII ones). */
const STR_OPS = ["SHORT_BINUNICODE", "BINUNICODE"] as const;
/** Opcodes {@link FastPath.run} may execute. */
export const FAST_CODES = new Uint8Array(256);
for (const name of ["MARK", ...MEMO_PUTS, ...STR_OPS, "APPENDS", "ADDITEMS", "SETITEMS"])
  FAST_CODES[OP[name] as number] = 1;
for (let c = 0; c < 256; c++) if (LITERAL_WIDTH[c] !== 0) FAST_CODES[c] = 1;
/** Opcodes that can appear inside a deferred run: its literals, memo puts and FRAMEs. */
const RUN_CODES = LITERAL_WIDTH.map((w) => (w !== 0 ? 1 : 0));
for (const name of [...MEMO_PUTS, ...STR_OPS, "FRAME"]) RUN_CODES[OP[name] as number] = 1;

/** Memo index of MEMOIZE (`size`), BINPUT or LONG_BINPUT at `p`. */
function memoIndex(buf: Uint8Array, p: number, size: number): number {
  const code = buf[p] as number;
  if (code === 0x94) return size;
  if (code === 0x71) return buf[p + 1] as number;
  return (
    ((buf[p + 1] as number) |
      ((buf[p + 2] as number) << 8) |
      ((buf[p + 3] as number) << 16) |
      ((buf[p + 4] as number) << 24)) >>>
    0
  );
}

/** A list, set or dict that keeps no more items: further items are only counted. */
function isSaturated(v: Value | undefined, cap: number): boolean {
  return (
    (v instanceof PySeq && (v.kind === "list" || v.kind === "set") && v.items.length >= cap) ||
    (v instanceof PyDict && v.keys.length >= cap)
  );
}

/** Strings at least this long go through {@link PickleMachine.op} (literal sniffing). */
const FAST_STR_MAX = 16;
const EMPTY_BUF = new Uint8Array(0);
/** Most bytes per item a deferred run may keep when copied out of a buffer (see release). */
const SEG_BYTES_PER_ITEM = 32;

/** Byte width of an opcode that can appear inside a deferred run (a str's length fits one byte). */
function runOpWidth(buf: Uint8Array, p: number): number {
  const code = buf[p] as number;
  if (RUN_CODES[code] !== 1) {
    throw new ModelgateError("INTERNAL", `opcode 0x${code.toString(16)} inside a deferred run`);
  }
  const w = FIXED_WIDTH[code] as number;
  return w !== 0 ? w : 1 + (LENGTH_BYTES[code] as number) + (buf[p + 1] as number);
}

/** What the fast path shares with the machine it runs for. */
export interface FastHost {
  /** The machine's value stack (the same array for the machine's life). */
  readonly stack: Value[];
  /** Its mark stack. */
  readonly marks: number[];
  /** Its memo. */
  readonly memo: Memo;
  /** Budgets: stack depth, mark depth, items a container keeps. */
  readonly maxStack: number;
  readonly maxMarks: number;
  readonly containerCap: number;
  /** Makes a str decoded only when looked at, referring to `buf` (see the machine's release). */
  lazyStr(buf: Uint8Array, start: number, end: number): PyStr;
}

/** The deferred runs and fast loops of one machine. */
export class FastPath {
  /** Opcodes executed by the last {@link FastPath.run}. */
  fastOps = 0;
  /** Buffer position of the last opcode executed by the last {@link FastPath.run}. */
  fastLast = 0;
  /** Items above the top mark are counted, not pushed (see the notes above). */
  defer = false;
  /** Buffer holding the deferred run. */
  #runBuf: Uint8Array = EMPTY_BUF;
  /** Position of its first item. */
  #runStart = 0;
  /** Position of its last item. */
  #runTop = 0;
  /** Items deferred. */
  #runCount = 0;
  /** Earlier parts of the run, copied out of buffers the input has moved on from. */
  #segs: { buf: Uint8Array; start: number; count: number }[] = [];
  /** Items in {@link FastPath.#segs}. */
  #segCount = 0;
  #view: DataView = new DataView(EMPTY_BUF.buffer);
  readonly #stack: Value[];
  readonly #marks: number[];
  readonly #memo: Memo;
  readonly #maxStack: number;
  readonly #maxMarks: number;
  readonly #cap: number;
  readonly #host: FastHost;

  /** @param host - the machine's state */
  constructor(host: FastHost) {
    this.#host = host;
    this.#stack = host.stack;
    this.#marks = host.marks;
    this.#memo = host.memo;
    this.#maxStack = host.maxStack;
    this.#maxMarks = host.maxMarks;
    this.#cap = host.containerCap;
  }

  #lazyStr(buf: Uint8Array, start: number, end: number): PyStr {
    return this.#host.lazyStr(buf, start, end);
  }

  #viewOf(buf: Uint8Array): DataView {
    let v = this.#view;
    if (v.buffer !== buf.buffer || v.byteOffset !== buf.byteOffset || v.byteLength !== buf.byteLength) {
      v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
      this.#view = v;
    }
    return v;
  }

  /** The value the literal opcode at `p` pushes (a lazy str refers to `buf`). */
  #literalAt(buf: Uint8Array, p: number): Value {
    switch (buf[p]) {
      case 0x47: {
        // BINFLOAT
        const f = this.#viewOf(buf).getFloat64(p + 1, false);
        return Number.isInteger(f) ? new PyFloat(f) : f;
      }
      case 0x4a: // BININT
        return (
          (buf[p + 1] as number) |
          ((buf[p + 2] as number) << 8) |
          ((buf[p + 3] as number) << 16) |
          ((buf[p + 4] as number) << 24)
        );
      case 0x4b: // BININT1
        return buf[p + 1] as number;
      case 0x4d: // BININT2
        return (buf[p + 1] as number) | ((buf[p + 2] as number) << 8);
      case 0x4e: // NONE
        return null;
      case 0x88: // NEWTRUE
        return true;
      case 0x89: // NEWFALSE
        return false;
      case 0x8c: // SHORT_BINUNICODE
        return this.#lazyStr(buf, p + 2, p + 2 + (buf[p + 1] as number));
      case 0x58: // BINUNICODE
        return this.#lazyStr(buf, p + 5, p + 5 + (buf[p + 1] as number));
      default:
        throw new ModelgateError("INTERNAL", `opcode 0x${(buf[p] ?? 0).toString(16)} is not a fast literal`);
    }
  }

  /** The value of the literal at `p` for the memo, which keeps strs decoded (no lazy str). */
  #memoValue(buf: Uint8Array, p: number): Value {
    const code = buf[p] as number;
    if (code === 0x8c) return latin1(buf, p + 2, p + 2 + (buf[p + 1] as number));
    if (code === 0x58) return latin1(buf, p + 5, p + 5 + (buf[p + 1] as number));
    return this.#literalAt(buf, p);
  }

  /** Ends a deferred run: pushes its items for real. */
  undefer(): void {
    const n = this.#runCount;
    const buf = this.#runBuf;
    this.defer = false;
    this.#runCount = 0;
    this.#runBuf = EMPTY_BUF;
    if (this.#segCount > 0) {
      for (const seg of this.#segs) this.#pushRun(seg.buf, seg.start, seg.count);
      this.#segs = [];
      this.#segCount = 0;
    }
    if (n > 0) this.#pushRun(buf, this.#runStart, n);
  }

  /** Pushes the `n` literal items of a run from `buf[p]` on (memo puts and FRAMEs are skipped). */
  #pushRun(buf: Uint8Array, p: number, n: number): void {
    const s = this.#stack;
    for (let k = 0; k < n; ) {
      const code = buf[p] as number;
      if (code !== 0x94 && code !== 0x71 && code !== 0x72 && code !== 0x95) {
        s.push(this.#literalAt(buf, p));
        k++;
      }
      p += runOpWidth(buf, p);
    }
  }

  /** The input's buffer is about to change: a deferred run is copied out of it (or pushed). */
  release(): void {
    const count = this.#runCount;
    if (count > 0) {
      const buf = this.#runBuf;
      const start = this.#runStart;
      const end = this.#runTop + runOpWidth(buf, this.#runTop);
      if (end - start > SEG_BYTES_PER_ITEM * count + 1024) {
        // memo puts or FRAMEs between the items: copying would cost more than the items
        this.undefer();
      } else {
        // keep the run deferred: copy its bytes out of the buffer
        this.#segs.push({ buf: buf.slice(start, end), start: 0, count });
        this.#segCount += count;
        this.#runCount = 0;
      }
    }
    this.#runBuf = EMPTY_BUF;
  }

  /**
   * The fast path (see {@link FastSink}): executes literal pushes, MARK, memo puts and the
   * APPENDS/ADDITEMS/SETITEMS ending a deferred run, exactly as {@link PickleMachine.op} would;
   * returns at the first opcode it cannot (errors, budgets and everything else stay with `op`).
   * @param buf - decoder buffer
   * @param pos - first opcode
   * @param stop - opcodes must end at or before this position
   * @param maxOps - most opcodes to execute
   * @param base - absolute offset of `buf[0]`
   */
  run(buf: Uint8Array, pos: number, stop: number, maxOps: number, base: number): number {
    if (this.defer && buf !== this.#runBuf) {
      if (this.#runCount > 0)
        this.undefer(); // not released: cannot happen with the decoder
      else this.#runBuf = buf;
    }
    let p = pos;
    let n = 0;
    let last = pos;
    while (n < maxOps && p < stop) {
      if (this.defer) {
        const q = this.#countRun(buf, p, stop, maxOps - n);
        if (q !== p) {
          n += this.#ops;
          last = this.#last;
          p = q;
          if (n >= maxOps || p >= stop) break;
        }
        // what the counting loop leaves: a memo put that keeps a value, the end of the run
        const w = this.#runStep(buf, p, stop, base);
        if (w === 0) break;
        last = p;
        p += w;
        n++;
      } else if (buf[p] === 0x28) {
        // MARK, typically starting the next batch
        const marks = this.#marks;
        if (marks.length >= this.#maxMarks) break;
        marks.push(this.#stack.length);
        this.#tryDefer(buf);
        last = p;
        p++;
        n++;
      } else {
        const q = this.#fastPlain(buf, p, stop, maxOps - n, base);
        if (q === p) break;
        n += this.#ops;
        last = this.#last;
        p = q;
        if (!this.defer) break; // it stopped at an opcode it cannot execute
      }
    }
    this.fastOps = n;
    this.fastLast = last;
    return p;
  }

  /** Opcodes executed by the last fast loop. */
  #ops = 0;
  /** Position of the last opcode it executed. */
  #last = 0;

  /**
   * After a MARK: starts a deferred run when the items of the batch can only be counted by a
   * full list, set or dict below the mark (and the mark is not the bottom of another one).
   */
  #tryDefer(buf: Uint8Array): boolean {
    const marks = this.#marks;
    const m = marks.length;
    const x = marks[m - 1] as number;
    const s = this.#stack;
    if (m === 0 || x !== s.length || x <= (m === 1 ? 0 : (marks[m - 2] as number))) return false;
    if (!isSaturated(s[x - 1], this.#cap)) return false;
    this.defer = true;
    this.#runBuf = buf;
    this.#runCount = 0;
    this.#segs = [];
    this.#segCount = 0;
    return true;
  }

  /** Fast loop outside deferred runs: pushes real values. Returns after a MARK that starts one. */
  #fastPlain(buf: Uint8Array, pos: number, stop: number, maxOps: number, base: number): number {
    const s = this.#stack;
    const marks = this.#marks;
    const memo = this.#memo;
    const maxStack = this.#maxStack;
    let p = pos;
    let last = pos;
    let n = 0;
    while (n < maxOps && p < stop) {
      const code = buf[p] as number;
      let w = LITERAL_WIDTH[code] as number;
      if (w !== 0) {
        if (p + w > stop || s.length >= maxStack) break;
        s.push(this.#literalAt(buf, p));
      } else if (code === 0x8c || code === 0x58) {
        // SHORT_BINUNICODE, BINUNICODE: short ASCII only
        const h = 1 + (LENGTH_BYTES[code] as number);
        if (p + h > stop) break;
        const len = buf[p + 1] as number;
        const e = p + h + len;
        if (len >= FAST_STR_MAX || e > stop || s.length >= maxStack) break;
        if (code === 0x58 && ((buf[p + 2] as number) | (buf[p + 3] as number) | (buf[p + 4] as number)) !== 0) break;
        let bits = 0;
        for (let i = p + h; i < e; i++) bits |= buf[i] as number;
        if (bits >= 0x80) break;
        s.push(this.#lazyStr(buf, p + h, e));
        w = e - p;
      } else if (code === 0x94 || code === 0x71 || code === 0x72) {
        // MEMOIZE, BINPUT, LONG_BINPUT
        w = FIXED_WIDTH[code] as number;
        const m = marks.length;
        if (p + w > stop || s.length <= (m === 0 ? 0 : (marks[m - 1] as number)) || memo.full) break;
        memo.put(memoIndex(buf, p, memo.size), s[s.length - 1] as Value, base + p);
      } else if (code === 0x28) {
        // MARK
        if (marks.length >= this.#maxMarks) break;
        marks.push(s.length);
        last = p;
        p += 1;
        n++;
        if (this.#tryDefer(buf)) break;
        continue;
      } else break;
      last = p;
      p += w;
      n++;
    }
    this.#ops = n;
    this.#last = last;
    return p;
  }

  /**
   * Fast loop inside a deferred run: counts literal items and applies memo puts that keep no
   * value. Kept small (it is the hottest code of the engine); everything else is left to
   * {@link FastPath.#runStep} and {@link PickleMachine.op}.
   */
  #countRun(buf: Uint8Array, pos: number, stop: number, maxOps: number): number {
    const memo = this.#memo;
    const view = this.#viewOf(buf);
    // items already in the run, in copied segments
    const before = this.#segCount;
    const limit = this.#maxStack - this.#stack.length - this.#segCount;
    let count = this.#runCount;
    let runStart = this.#runStart;
    let runTop = this.#runTop;
    let p = pos;
    let last = pos;
    let n = 0;
    while (n < maxOps && p < stop) {
      const code = buf[p] as number;
      let w = LITERAL_WIDTH[code] as number;
      if (w === 0) {
        if (code === 0x8c || code === 0x58) {
          // SHORT_BINUNICODE, BINUNICODE: short ASCII only
          const h = 1 + (LENGTH_BYTES[code] as number);
          if (p + h > stop) break;
          const len = buf[p + 1] as number;
          const e = p + h + len;
          if (len >= FAST_STR_MAX || e > stop) break;
          if (code === 0x58 && ((buf[p + 2] as number) | (buf[p + 3] as number) | (buf[p + 4] as number)) !== 0) break;
          let bits = 0;
          let i = p + h;
          for (; i + 4 <= e; i += 4) bits |= view.getUint32(i);
          for (; i < e; i++) bits |= buf[i] as number;
          if ((bits & 0x80808080) !== 0) break;
          // a dunder str where a dict key may be: a full dict still keeps it, so it must exist
          if (((before + count) & 1) === 0 && len >= 2 && buf[p + h] === 0x5f && buf[p + h + 1] === 0x5f) break;
          w = e - p;
        } else if (code === 0x94 || code === 0x72 || code === 0x71) {
          // MEMOIZE, LONG_BINPUT, BINPUT of the top item, when the memo only marks it present
          w = FIXED_WIDTH[code] as number;
          if (count === 0 || p + w > stop || !memo.appendPresence(memoIndex(buf, p, memo.size))) break;
          last = p;
          p += w;
          n++;
          continue;
        } else break;
      } else {
        // fixed-width literals: a run of the same opcode (floats, ints) in a tight loop
        const fit = Math.min(maxOps - n, limit - count, Math.floor((stop - p) / w));
        if (fit <= 0) break;
        if (count === 0) runStart = p;
        let q = p + w;
        let j = 1;
        while (j < fit && buf[q] === code) {
          q += w;
          j++;
        }
        count += j;
        n += j;
        p = q;
        runTop = q - w;
        last = runTop;
        continue;
      }
      // a str item
      if (count >= limit) break;
      if (count === 0) runStart = p;
      runTop = p;
      count++;
      last = p;
      p += w;
      n++;
    }
    this.#runCount = count;
    this.#runStart = runStart;
    this.#runTop = runTop;
    this.#ops = n;
    this.#last = last;
    return p;
  }

  /**
   * One opcode inside a deferred run that {@link FastPath.#countRun} leaves: a memo put
   * that keeps a value, or the APPENDS/ADDITEMS/SETITEMS giving the run to its container.
   * @returns its width, or 0 when {@link PickleMachine.op} must execute it
   */
  #runStep(buf: Uint8Array, p: number, stop: number, base: number): number {
    const code = buf[p] as number;
    const count = this.#runCount;
    if (code === 0x94 || code === 0x72 || code === 0x71) {
      const w = FIXED_WIDTH[code] as number;
      if (count === 0 || p + w > stop) return 0;
      const memo = this.#memo;
      const i = memoIndex(buf, p, memo.size);
      if (!memo.putPresence(i)) {
        if (memo.full) return 0;
        memo.store(i, this.#memoValue(buf, this.#runTop), base + p);
      }
      return w;
    }
    if (code !== 0x65 && code !== 0x90 && code !== 0x75) return 0;
    // APPENDS, ADDITEMS, SETITEMS: the run's items go to the full container below the mark
    const total = this.#segCount + count;
    if (total === 0 || (code === 0x75 && (total & 1) !== 0)) return 0;
    const marks = this.#marks;
    const m = marks.length;
    if (m === 0) return 0;
    const x = marks[m - 1] as number;
    const s = this.#stack;
    if (x !== s.length || x <= (m === 1 ? 0 : (marks[m - 2] as number))) return 0;
    const t = s[x - 1];
    const cap = this.#cap;
    if (code === 0x75) {
      if (!(t instanceof PyDict && t.keys.length >= cap)) return 0;
      t.count += total / 2;
    } else {
      if (!(t instanceof PySeq && (t.kind === "list" || t.kind === "set") && t.items.length >= cap)) return 0;
      t.count += total;
    }
    marks.pop();
    this.defer = false;
    this.#runCount = 0;
    this.#runBuf = EMPTY_BUF;
    if (this.#segCount > 0) {
      this.#segs = [];
      this.#segCount = 0;
    }
    return 1;
  }
}
