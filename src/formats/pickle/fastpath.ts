/**
 * The pickle machine's fast path: executes the opcodes that dominate opcode-dense pickles straight
 * from the decoder's buffer, exactly as {@link PickleMachine.op} would (see {@link FastSink}).
 * Which opcodes it executes and their widths come from the opcode table.
 * @module
 */
import { ModelgateError } from "../../core/errors.js";
import { twosComplement } from "./literals.js";
import type { Memo } from "./memo.js";
import { FIXED_LITERAL, FIXED_WIDTH, LENGTH_BYTES, OP, POPS } from "./opcodes.js";
import { latin1, PyCall, PyDict, PyFloat, type PyRef, PySeq, type PyStr, tupleFrom, type Value } from "./values.js";

// PickleMachine.fastRun executes the opcodes that dominate opcode-dense pickles straight from the
// decoder's buffer: literal pushes (ints, floats, short strs, LONG1), MARK, memo puts, tuples,
// empty lists and the APPEND/APPENDS that fill them, and the APPENDS/ADDITEMS/SETITEMS that end a
// batch. Outside deferred runs it builds exactly the values `op` would.
//
// When a MARK is set over a list, set or dict that already holds `containerCap` items, the items
// of the batch that follows are not even built: the container can only count them. The machine
// then keeps just where the batch starts in the buffer and a shadow of what the batch pushed (a
// "deferred run"): how many items are above the batch's MARK, which of them are lists, and the
// MARKs opened inside the batch. An item may be a literal or a compound built from literals
// (`(int, str, float, None)` tuples, lists of ints) as long as every memo put inside it keeps no
// value. A batch that ends in APPENDS/ADDITEMS/SETITEMS on that container adds the count; anything
// else first re-reads the run from the buffer and builds the exact values (the machine is then in
// the same state as without the fast path, open MARKs included). Memo puts inside a run store the
// exact value of the top item, read back from its bytes, whenever the memo keeps it and the item
// is a literal; a memo put of a tuple or list of literals (shadow tags say which items are flat
// tuples or lists) keeps only its kind once the memo's sequence budget is spent, and a memo put that
// would keep a compound ends the run the same way.
//
// A run may also hold calls without keyword arguments of one named callee whose calls the machine
// only records (`BINGET callee, EMPTY_TUPLE, REDUCE`: a checkpoint's pickled instances, see
// FastHost.plainCall) once the callee's site keeps no more call records: counting such a REDUCE
// counts the call on its site; building the run (replay) makes the PyCall the machine would have
// made, without counting it again. The callee and the call are shadow items of their own (REF,
// CALL) that a memo put never keeps as mere presence (the memo keeps references). A call without
// arguments memoised right after its REDUCE is kept by the memo as its callee and offset alone
// (Memo.storeCall) and the run goes on; building the run hands the call it makes to the memo
// (Memo.adoptCall), so the memo and the stack share one object as they would without the fast path.

/** Width of the literal opcodes of fixed width the fast path executes (0: not one), from the table. */
const LITERAL_WIDTH = new Uint8Array(256);
for (let c = 0; c < 256; c++) if (FIXED_LITERAL[c] === 1) LITERAL_WIDTH[c] = FIXED_WIDTH[c] as number;
/** The memo puts the fast path executes. */
const MEMO_PUTS = ["MEMOIZE", "BINPUT", "LONG_BINPUT"] as const;
/** The strs the fast path executes (short ASCII ones). */
const STR_OPS = ["SHORT_BINUNICODE", "BINUNICODE"] as const;
/** Opcodes that build tuples and lists of the items above them. */
const COMPOUND_OPS = ["TUPLE", "TUPLE1", "TUPLE2", "TUPLE3", "EMPTY_TUPLE", "EMPTY_LIST", "APPEND"] as const;
/** Memo gets and the call a deferred run may hold (see {@link FastHost.plainCall}). */
const CALL_OPS = ["BINGET", "LONG_BINGET", "REDUCE"] as const;
/** Opcodes {@link FastPath.run} may execute (outside deferred runs; inside them, CALL_OPS too). */
export const FAST_CODES = new Uint8Array(256);
for (const name of ["MARK", ...MEMO_PUTS, ...STR_OPS, ...COMPOUND_OPS, "LONG1", "APPENDS", "ADDITEMS", "SETITEMS"])
  FAST_CODES[OP[name] as number] = 1;
for (let c = 0; c < 256; c++) if (LITERAL_WIDTH[c] !== 0) FAST_CODES[c] = 1;
/** Opcodes that can appear inside a deferred run. */
const RUN_CODES = LITERAL_WIDTH.map((w) => (w !== 0 ? 1 : 0));
for (const name of ["MARK", ...MEMO_PUTS, ...STR_OPS, ...COMPOUND_OPS, ...CALL_OPS, "LONG1", "APPENDS", "FRAME"])
  RUN_CODES[OP[name] as number] = 1;

// Classes of the opcodes a deferred run counts (the counting loop switches on them: a jump table).
const C_FIXED = 1;
const C_STR = 2;
const C_LONG1 = 3;
const C_MEMO = 4;
const C_MARK = 5;
const C_TUPLE = 6;
const C_TUPLEN = 7;
const C_EMPTY = 8;
const C_APPEND = 9;
const C_APPENDS = 10;
const C_GET = 11;
const C_REDUCE = 12;
/** Class of each opcode in a deferred run's counting loop (0: not counted there). */
const RUN_CLASS = new Uint8Array(256);
for (let c = 0; c < 256; c++) if (LITERAL_WIDTH[c] !== 0) RUN_CLASS[c] = C_FIXED;
for (const [cls, names] of [
  [C_STR, STR_OPS],
  [C_LONG1, ["LONG1"]],
  [C_MEMO, MEMO_PUTS],
  [C_MARK, ["MARK"]],
  [C_TUPLE, ["TUPLE"]],
  [C_TUPLEN, ["TUPLE1", "TUPLE2", "TUPLE3"]],
  [C_EMPTY, ["EMPTY_TUPLE", "EMPTY_LIST"]],
  [C_APPEND, ["APPEND"]],
  [C_APPENDS, ["APPENDS"]],
  [C_GET, ["BINGET", "LONG_BINGET"]],
  [C_REDUCE, ["REDUCE"]],
] as const) {
  for (const name of names) RUN_CLASS[OP[name] as number] = cls;
}

/** Memo index of MEMOIZE (`size`), BINPUT or LONG_BINPUT at `p`. */
function memoIndex(buf: Uint8Array, p: number, size: number): number {
  const code = buf[p] as number;
  if (code === 0x94) return size; // MEMOIZE
  if (code === 0x71) return buf[p + 1] as number; // BINPUT
  return (
    ((buf[p + 1] as number) |
      ((buf[p + 2] as number) << 8) |
      ((buf[p + 3] as number) << 16) |
      ((buf[p + 4] as number) << 24)) >>>
    0
  );
}

/**
 * A list, set or dict that keeps no more items: further items are only counted. A list still
 * tracking the byte values of its items (see {@link PySeq.octets}) sees each one.
 */
function isSaturated(v: Value | undefined, cap: number): boolean {
  return (
    (v instanceof PySeq && (v.kind === "list" || v.kind === "set") && v.items.length >= cap && !v.tracksOctets) ||
    (v instanceof PyDict && v.keys.length >= cap)
  );
}

/** Whether a value is a list (what APPEND and APPENDS extend without further ado). */
function isList(v: Value | undefined): v is PySeq {
  return v instanceof PySeq && v.kind === "list";
}

/** Strings at least this long go through {@link PickleMachine.op} (literal sniffing). */
const FAST_STR_MAX = 16;
const EMPTY_BUF = new Uint8Array(0);
/** Most bytes per item a deferred run may keep when copied out of a buffer (see release). */
const SEG_BYTES_PER_ITEM = 32;
// Shadow tags of the items of a deferred run (0: a literal). Positions past the tag array are
// untracked: an item there is taken for a tuple or list holding others.
/** A list. */
const LIST = 1;
/** A tuple or list. */
const SEQ = 2;
/**
 * A tuple or list holding a tuple, list, callee or call (only flat ones may be memoised as their
 * kind alone).
 */
const DEEP = 4;
/** The run's callee (a BINGET of it, see {@link FastHost.plainCall}). */
const REF = 8;
/** A call of the run's callee (its result). */
const CALL = 16;
/**
 * With {@link CALL}: a call made by `BINGET callee, EMPTY_TUPLE, REDUCE` (no arguments), whose
 * memo put right after its REDUCE the memo keeps compactly (see {@link Memo.storeCall}).
 */
const CALL0 = 32;
/**
 * A tuple or list holding the run's callee ({@link REF}) somewhere inside: dropped into a full
 * container, the callee escapes (see `markEscaped`), so such a run is built for real.
 */
const HOLDS_REF = 64;
/** Tags of items that make a tuple or list holding them {@link HOLDS_REF}. */
const REFS = REF | HOLDS_REF;
/** Tags of items that make a tuple or list holding them {@link DEEP}. */
const NONFLAT = SEQ | REF | CALL;
/** Tags of items a memo put keeps (references): such a put ends the run (but see {@link CALL0}). */
const KEPT = REF | CALL;
/** Call records a site keeps (the machine's `#call`): later calls are only counted. */
export const CALL_RECORDS = 4;
/** Largest item skeleton: bytes, opcodes, bytes checked, shadow items added. */
const SK_MAX_BYTES = 512;
const SK_MAX_OPS = 64;
const SK_MAX_CHECKS = 128;
const SK_MAX_ITEMS = 16;
/** Recording's scratch: MARK depths. */
const SK_MARKS = new Int32Array(SK_MAX_OPS);
/** Items after which a skeleton that does not match the next one is given up for the call. */
const SK_MAX_MISSES = 8;

/**
 * Clears the shadow tags of the items from `from` to `to` (exclusive), which leave the shadow
 * stack; returns their union ({@link SEQ} for untracked positions).
 */
function takeTags(tags: Uint8Array, from: number, to: number): number {
  let held = to > tags.length ? SEQ | HOLDS_REF : 0;
  const end = Math.min(to, tags.length);
  for (let i = from; i < end; i++) {
    held |= tags[i] as number;
    tags[i] = 0;
  }
  return held;
}

/**
 * Byte width of an opcode that can appear inside a deferred run (a str's length fits one byte).
 * @param buf - the bytes
 * @param p - the opcode's position
 */
function runOpWidth(buf: Uint8Array, p: number): number {
  const code = buf[p] as number;
  if (RUN_CODES[code] !== 1) {
    throw new ModelgateError("INTERNAL", `opcode 0x${code.toString(16)} inside a deferred run`);
  }
  const w = FIXED_WIDTH[code] as number;
  return w !== 0 ? w : 1 + (LENGTH_BYTES[code] as number) + (buf[p + 1] as number);
}

/**
 * Width of a short ASCII str opcode at `p` that lies before `stop` (SHORT_BINUNICODE, or a
 * BINUNICODE whose length fits one byte), or 0.
 */
function shortAsciiWidth(buf: Uint8Array, p: number, stop: number): number {
  const code = buf[p] as number;
  const h = 1 + (LENGTH_BYTES[code] as number);
  if (p + h > stop) return 0;
  const len = buf[p + 1] as number;
  const e = p + h + len;
  if (len >= FAST_STR_MAX || e > stop) return 0;
  if (h === 5 && ((buf[p + 2] as number) | (buf[p + 3] as number) | (buf[p + 4] as number)) !== 0) return 0;
  let bits = 0;
  let i = p + h;
  for (; i + 4 <= e; i += 4) {
    bits |= (buf[i] as number) | (buf[i + 1] as number) | (buf[i + 2] as number) | (buf[i + 3] as number);
  }
  for (; i < e; i++) bits |= buf[i] as number;
  return bits >= 0x80 ? 0 : e - p;
}

/**
 * Keeps in the memo the text of the str pushed by the opcode at `lit` (SHORT_BINUNICODE or
 * BINUNICODE of fewer than 256 ASCII bytes, as {@link shortAsciiWidth} accepts), entry `i` of which
 * a put only marked present ({@link Memo.keepText}).
 */
function keepText(memo: Memo, i: number, buf: Uint8Array, lit: number): void {
  const start = lit + 1 + (LENGTH_BYTES[buf[lit] as number] as number);
  memo.keepText(i, buf, start, start + (buf[lit + 1] as number));
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
  /** Cuts the stack to `n` items (the machine tracks where lazy strs may be). */
  truncate(n: number): void;
  /**
   * Whether a REDUCE of `callee` with a tuple of literals only records the call on the callee's
   * site (count, first call records) and yields `new PyCall(callee, callee.name, args, "REDUCE",
   * offset)`: no model of the callee, nothing else to count. Depends on the name only.
   */
  plainCall(callee: PyRef): boolean;
}

const F64 = new Float64Array(1);
const F64_BYTES = new Uint8Array(F64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The big-endian double at `at`. */
function float64be(buf: Uint8Array, at: number): number {
  const b = F64_BYTES;
  if (LITTLE_ENDIAN) {
    for (let i = 0; i < 8; i++) b[i] = buf[at + 7 - i] as number;
  } else {
    for (let i = 0; i < 8; i++) b[i] = buf[at + i] as number;
  }
  return F64[0] as number;
}

/** The deferred runs and fast loops of one machine. */
export class FastPath {
  /** Opcodes executed by the last {@link FastPath.run}. */
  fastOps = 0;
  /** Buffer position of the last opcode executed by the last {@link FastPath.run}. */
  fastLast = 0;
  /** Items above the top mark are counted, not built (see the notes above). */
  defer = false;
  /** Buffer holding the part of the deferred run read from the current buffer. */
  #runBuf: Uint8Array = EMPTY_BUF;
  /** Position of that part's first opcode. */
  #runStart = 0;
  /** Position after its last opcode. */
  #runEnd = 0;
  /** Items that part pushed (for release's choice between copying and building it). */
  #partPushes = 0;
  /** Position of the top item's literal opcode in that part, or -1 when it is not one. */
  #topLit = -1;
  /** Absolute offset of `#runBuf[0]` (REDUCE offsets of a replayed run). */
  #runBase = 0;
  /** Earlier parts of the run, copied out of buffers the input has moved on from. */
  #segs: Uint8Array[] = [];
  /** Absolute offset of each of them. */
  #segBases: number[] = [];
  /** The callee of the run's calls (REF items), or undefined (see {@link FastHost.plainCall}). */
  #callee: PyRef | undefined = undefined;
  /** The last callee {@link FastHost.plainCall} accepted. */
  #plain: PyRef | undefined = undefined;
  /**
   * The run's compact memo puts of calls ({@link Memo.storeCall}), in order: each call's offset
   * and memo index, for the replay to hand over the calls it builds. At most one per call of the
   * run, so fewer than the stack budget (the run's items count against it).
   */
  #putOff = new Float64Array(0);
  #putIdx = new Int32Array(0);
  #puts = 0;
  /** Replay's position in those puts. */
  #adopted = 0;

  /** Makes `ref` the run's callee when the run has none and its calls are plain. */
  #adopt(ref: PyRef): boolean {
    if (this.#callee !== undefined) return false;
    if (ref !== this.#plain) {
      if (!this.#host.plainCall(ref)) return false;
      this.#plain = ref;
    }
    this.#callee = ref;
    return true;
  }
  /**
   * The opcodes the decoder hands to {@link FastPath.run}: {@link FAST_CODES}, and the memo gets
   * and REDUCE while a run is deferred (outside runs `op` executes them at once). Per machine: it
   * changes with this machine's runs.
   */
  readonly codes: Uint8Array = FAST_CODES.slice();
  /** Shadow stack: items above the batch's MARK (the run's items and those of open compounds). */
  #sp = 0;
  /**
   * Tags ({@link LIST}, {@link SEQ}, {@link DEEP}) of the shadow items (0 past the top). A list
   * deeper than its length ends the run (items that deep are counted, never appended to).
   */
  readonly #tags: Uint8Array = new Uint8Array(4096);
  /** Shadow positions of the MARKs opened inside the run, innermost last. */
  #inner = new Int32Array(16);
  /** How many of them are open. */
  #nInner = 0;
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

  /** The value the literal opcode at `p` pushes (a lazy str refers to `buf`). */
  #literalAt(buf: Uint8Array, p: number): Value {
    switch (buf[p]) {
      case 0x47: {
        // BINFLOAT
        const f = float64be(buf, p + 1);
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
      case 0x8a: // LONG1
        return twosComplement(buf, p + 2, p + 2 + (buf[p + 1] as number));
      case 0x8c: // SHORT_BINUNICODE
        return this.#host.lazyStr(buf, p + 2, p + 2 + (buf[p + 1] as number));
      case 0x58: // BINUNICODE
        return this.#host.lazyStr(buf, p + 5, p + 5 + (buf[p + 1] as number));
      default:
        throw new ModelgateError("INTERNAL", `opcode 0x${(buf[p] ?? 0).toString(16)} is not a fast literal`);
    }
  }

  /** The value of the literal at `p` for the memo, which keeps strs decoded (no lazy str). */
  #memoValue(buf: Uint8Array, p: number): Value {
    const code = buf[p] as number;
    if (code === 0x8c) return latin1(buf, p + 2, p + 2 + (buf[p + 1] as number)); // SHORT_BINUNICODE
    if (code === 0x58) return latin1(buf, p + 5, p + 5 + (buf[p + 1] as number)); // BINUNICODE
    return this.#literalAt(buf, p);
  }

  /** A tuple of the stack's items from `from` on, which leave the stack (TUPLE, TUPLE1-3). */
  #tupleFrom(from: number): PySeq {
    const s = this.#stack;
    const cap = this.#cap;
    const t = tupleFrom(s, from, cap);
    this.#host.truncate(from);
    return t;
  }

  /** A REDUCE of the stack's top two items, a REF and a tuple, counted in a run (see #callee). */
  #reduceAt(offset: number): void {
    const s = this.#stack;
    const n = s.length;
    const callee = s[n - 2] as PyRef;
    const args = s[n - 1] as Value;
    this.#host.truncate(n - 2);
    const call = new PyCall(callee, callee.name, args, "REDUCE", offset);
    s.push(call);
    const k = this.#adopted;
    if (k < this.#puts && this.#putOff[k] === offset) {
      this.#memo.adoptCall(this.#putIdx[k] as number, call);
      this.#adopted = k + 1;
    }
  }

  /**
   * A memo put at `i` of a call without arguments counted in the run (its REDUCE at `offset`),
   * kept compactly by the memo, or nothing when the memo is full (`op` then reports the budget).
   * @returns whether it applied the put
   */
  #putCall(i: number, offset: number, putOffset: number): boolean {
    const memo = this.#memo;
    const callee = this.#callee;
    if (callee === undefined || memo.full) return false;
    const n = this.#puts;
    if (n === this.#putOff.length) {
      const size = Math.max(64, 2 * n);
      const off = new Float64Array(size);
      off.set(this.#putOff);
      const idx = new Int32Array(size);
      idx.set(this.#putIdx);
      this.#putOff = off;
      this.#putIdx = idx;
    }
    memo.storeCall(i, callee, offset, putOffset);
    this.#putOff[n] = offset;
    this.#putIdx[n] = i;
    this.#puts = n + 1;
    return true;
  }

  /** APPEND/APPENDS of the stack's items from `x` on to the list at `x - 1`. */
  #appendFrom(x: number): void {
    const s = this.#stack;
    if (x === s.length) return;
    const target = s[x - 1] as PySeq;
    const cap = this.#cap;
    for (let i = x; i < s.length; i++) target.push(s[i] as Value, cap);
    this.#host.truncate(x);
  }

  /** Ends a deferred run: builds its items for real (its open MARKs become real ones). */
  undefer(): void {
    const segs = this.#segs;
    const bases = this.#segBases;
    const buf = this.#runBuf;
    const start = this.#runStart;
    const end = this.#runEnd;
    const base = this.#runBase;
    const callee = this.#callee;
    const puts = this.#puts;
    this.#reset();
    // #reset forgets the compact puts; the replay still reads them (nothing adds any meanwhile)
    this.#puts = puts;
    this.#adopted = 0;
    for (let k = 0; k < segs.length; k++) {
      const seg = segs[k] as Uint8Array;
      this.#replay(seg, 0, seg.length, bases[k] as number, callee);
    }
    if (end > start) this.#replay(buf, start, end, base, callee);
    this.#puts = 0;
  }

  #reset(): void {
    this.defer = false;
    this.#runBuf = EMPTY_BUF;
    this.#runStart = 0;
    this.#runEnd = 0;
    this.#partPushes = 0;
    this.#topLit = -1;
    if (this.#segs.length > 0) {
      this.#segs = [];
      this.#segBases = [];
    }
    if (this.#callee !== undefined) this.#callee = undefined;
    this.#puts = 0;
    this.#callCodes(0);
    if (this.#sp > 0) this.#tags.fill(0, 0, Math.min(this.#sp, this.#tags.length));
    this.#sp = 0;
    this.#nInner = 0;
  }

  /** Sets whether the decoder hands memo gets and REDUCE to {@link FastPath.run}. */
  #callCodes(on: 0 | 1): void {
    const codes = this.codes;
    codes[0x68] = on; // BINGET
    codes[0x6a] = on; // LONG_BINGET
    codes[0x52] = on; // REDUCE
  }

  /**
   * Executes the opcodes of a run from `buf[p]` to `end` for real: the counting loop checked them,
   * so they cannot fail (memo puts were applied when counted and FRAMEs by the decoder; calls were
   * counted on their site).
   * @param base - absolute offset of `buf[0]`
   * @param callee - the run's callee
   */
  #replay(buf: Uint8Array, p: number, end: number, base: number, callee: PyRef | undefined): void {
    const s = this.#stack;
    const marks = this.#marks;
    while (p < end) {
      const code = buf[p] as number;
      switch (code) {
        case 0x94: // MEMOIZE
        case 0x71: // BINPUT
        case 0x72: // LONG_BINPUT
        case 0x95: // FRAME
          break;
        case 0x28: // MARK
          marks.push(s.length);
          break;
        case 0x74: // TUPLE
          s.push(this.#tupleFrom(marks.pop() as number));
          break;
        case 0x85: // TUPLE1
        case 0x86: // TUPLE2
        case 0x87: // TUPLE3
          s.push(this.#tupleFrom(s.length - ((POPS[code] as number) - 1)));
          break;
        case 0x29: // EMPTY_TUPLE
          s.push(new PySeq("tuple"));
          break;
        case 0x5d: // EMPTY_LIST
          s.push(new PySeq("list"));
          break;
        case 0x61: // APPEND
          this.#appendFrom(s.length - 1);
          break;
        case 0x65: // APPENDS
          this.#appendFrom(marks.pop() as number);
          break;
        case 0x68: // BINGET
        case 0x6a: // LONG_BINGET
          s.push(callee as PyRef);
          break;
        case 0x52: // REDUCE
          this.#reduceAt(base + p);
          break;
        default:
          s.push(this.#literalAt(buf, p));
      }
      p += runOpWidth(buf, p);
    }
  }

  /** The input's buffer is about to change: a deferred run is copied out of it (or built). */
  release(): void {
    const start = this.#runStart;
    const end = this.#runEnd;
    if (this.defer && end > start) {
      if (end - start > SEG_BYTES_PER_ITEM * this.#partPushes + 1024) {
        // memo puts or FRAMEs between the items: copying would cost more than the items
        this.undefer();
      } else {
        // keep the run deferred: copy its bytes out of the buffer
        this.#segs.push(this.#runBuf.slice(start, end));
        this.#segBases.push(this.#runBase + start);
      }
    }
    this.#runBuf = EMPTY_BUF;
    this.#runStart = 0;
    this.#runEnd = 0;
    this.#partPushes = 0;
    this.#topLit = -1;
  }

  /**
   * The fast path (see {@link FastSink}): executes what {@link FastPath} handles exactly as
   * {@link PickleMachine.op} would; returns at the first opcode it cannot (errors, budgets and
   * everything else stay with `op`).
   * @param buf - decoder buffer
   * @param pos - first opcode
   * @param stop - opcodes must end at or before this position
   * @param maxOps - most opcodes to execute
   * @param base - absolute offset of `buf[0]`
   */
  run(buf: Uint8Array, pos: number, stop: number, maxOps: number, base: number): number {
    if (this.defer && buf !== this.#runBuf) {
      if (this.#runEnd > this.#runStart)
        this.undefer(); // not released: cannot happen with the decoder
      else {
        this.#runBuf = buf;
        this.#runBase = base;
        this.#runStart = pos;
        this.#runEnd = pos;
      }
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
          this.#runEnd = q;
          if (n >= maxOps || p >= stop) break;
        }
        // what the counting loop leaves: a memo put that keeps a value, the end of the run
        const w = this.#runStep(buf, p, stop, base);
        if (w === 0) break;
        last = p;
        p += w;
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
   * After a MARK at `p`: starts a deferred run when the items of the batch can only be counted by
   * a full list, set or dict below the mark (and the mark is not the bottom of another one).
   */
  #tryDefer(buf: Uint8Array, p: number, base: number): boolean {
    const marks = this.#marks;
    const m = marks.length;
    const x = marks[m - 1] as number;
    const s = this.#stack;
    if (m === 0 || x !== s.length || x <= (m === 1 ? 0 : (marks[m - 2] as number))) return false;
    if (!isSaturated(s[x - 1], this.#cap)) return false;
    this.#reset();
    this.defer = true;
    this.#callCodes(1);
    this.#runBuf = buf;
    this.#runBase = base;
    this.#runStart = p + 1;
    this.#runEnd = p + 1;
    return true;
  }

  /** Fast loop outside deferred runs: builds real values. Returns after a MARK that starts a run. */
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
      } else {
        const m = marks.length;
        const fence = m === 0 ? 0 : (marks[m - 1] as number);
        switch (code) {
          case 0x8c: // SHORT_BINUNICODE
          case 0x58: // BINUNICODE
            w = shortAsciiWidth(buf, p, stop);
            if (s.length >= maxStack) w = 0;
            if (w === 0) break;
            s.push(this.#host.lazyStr(buf, p + w - (buf[p + 1] as number), p + w));
            break;
          case 0x8a: // LONG1
            w = p + 2 > stop ? 0 : 2 + (buf[p + 1] as number);
            if (p + w > stop || s.length >= maxStack) w = 0;
            else if (w !== 0) s.push(twosComplement(buf, p + 2, p + w));
            break;
          case 0x94: // MEMOIZE
          case 0x71: // BINPUT
          case 0x72: // LONG_BINPUT
            w = FIXED_WIDTH[code] as number;
            if (p + w > stop || s.length <= fence || memo.full) w = 0;
            else memo.put(memoIndex(buf, p, memo.size), s[s.length - 1] as Value, base + p);
            break;
          case 0x28: // MARK
            if (m >= this.#maxMarks) break;
            marks.push(s.length);
            last = p;
            p += 1;
            n++;
            if (this.#tryDefer(buf, p - 1, base)) {
              this.#ops = n;
              this.#last = last;
              return p;
            }
            continue;
          case 0x74: // TUPLE
            if (m === 0 || fence >= maxStack) break;
            s.push(this.#tupleFrom(marks.pop() as number));
            w = 1;
            break;
          case 0x85: // TUPLE1
          case 0x86: // TUPLE2
          case 0x87: {
            // TUPLE3
            const k = (POPS[code] as number) - 1;
            if (s.length - fence < k) break;
            s.push(this.#tupleFrom(s.length - k));
            w = 1;
            break;
          }
          case 0x29: // EMPTY_TUPLE
          case 0x5d: // EMPTY_LIST
            if (s.length >= maxStack) break;
            s.push(new PySeq(code === 0x29 ? "tuple" : "list"));
            w = 1;
            break;
          case 0x61: // APPEND
            if (s.length - 1 <= fence || !isList(s[s.length - 2])) break;
            this.#appendFrom(s.length - 1);
            w = 1;
            break;
          case 0x65: {
            // APPENDS of a list below the mark
            if (m === 0) break;
            const x = marks[m - 1] as number;
            if (x <= (m === 1 ? 0 : (marks[m - 2] as number)) || !isList(s[x - 1])) break;
            marks.pop();
            this.#appendFrom(x);
            w = 1;
            break;
          }
        }
        if (w === 0) break;
      }
      last = p;
      p += w;
      n++;
    }
    this.#ops = n;
    this.#last = last;
    return p;
  }

  // ---------------------------------------------------------------- item skeletons
  //
  // Picklers write a batch's items alike: `MARK BININT SHORT_BINUNICODE MEMOIZE BINFLOAT NONE
  // TUPLE MEMOIZE` for each `(int, str, float, None)`, `SHORT_BINUNICODE MEMOIZE BININT` for each
  // `str: int` pair. The counting loop records the opcodes of the last item it counted (its
  // skeleton: the span from one top-level opcode to the next top-level opcode that is the same)
  // and what counting them did; an item whose bytes match the skeleton wherever the counting
  // depends on them (opcode bytes, str and LONG1 lengths, memo indexes, ASCII and dunder checks of
  // strs) is then counted in one step with exactly the same effect. What the counting checks
  // against budgets is checked for the whole item: the shadow stack's room (its highest point
  // inside the item), the opcode budget, the end of the bytes, the memo puts that mark entries
  // present. A skeleton lives for one call of the counting loop, whose MARK room is fixed, and
  // holds only memo puts that kept nothing but, for a str, its text (Memo.keepText).

  /** Skeleton length in bytes (0: none). */
  #skLen = 0;
  /** Bytes the counting depends on: offsets in the item and their values. */
  readonly #skAt = new Int32Array(SK_MAX_CHECKS);
  readonly #skByte = new Uint8Array(SK_MAX_CHECKS);
  #skChecks = 0;
  /**
   * Strs: start and end offsets of their text (ASCII checked), and 1 for a top-level one of two
   * bytes or more (which must not start with `__`: see the dunder check of the counting loop).
   */
  readonly #skStr = new Int32Array(3 * SK_MAX_OPS);
  #skStrs = 0;
  /** BINPUT/LONG_BINPUT: offsets of the opcodes and how many memo puts come before each. */
  readonly #skPutAt = new Int32Array(SK_MAX_OPS);
  readonly #skPutRank = new Int32Array(SK_MAX_OPS);
  #skPuts = 0;
  /**
   * Memo puts of strs (their text is kept, see {@link FastPath.#keepStrs}): how many memo puts come
   * before each, then the start and end offsets of the str's text in the item, or -1 and 0 for the
   * put of the item before it (the top of the shadow stack when the item starts).
   */
  readonly #skStrPut = new Int32Array(3 * SK_MAX_OPS);
  #skStrPuts = 0;
  /** What counting the item does: opcodes, pushes, shadow items added and their tags, memo puts. */
  #skOps = 0;
  #skPushes = 0;
  #skItems = 0;
  readonly #skTags = new Uint8Array(SK_MAX_ITEMS);
  /** Whether some of them are tagged (not all literals). */
  #skTagged = false;
  #skMemo = 0;
  /** Highest shadow depth reached inside the item, above where it starts. */
  #skPeak = 0;
  /** Most MARKs open inside the item. */
  #skMarks = 0;
  /** Shadow depth the item needs below it (a memo put of an item before it). */
  #skBelow = 0;
  /** Offset of the top item's literal opcode after the item (-1: a tuple or list). */
  #skTop = -1;
  /** Offset of the item's last opcode. */
  #skLast = 0;

  /**
   * Records the skeleton of the item `buf[s..e)` that the counting loop just counted with the
   * given effects (shadow depth from `sp0` to `sp`, `ops` opcodes, `pushes` pushes, `memo` memo
   * puts that only marked entries present); the item must open and close its own MARKs and pop
   * nothing pushed before it (tuples and lists it holds are its own).
   * @returns whether it did (otherwise there is no skeleton)
   */
  #record(
    buf: Uint8Array,
    s: number,
    e: number,
    sp0: number,
    sp: number,
    ops: number,
    pushes: number,
    memo: number,
    topLit: number,
    last: number,
  ): boolean {
    this.#skLen = 0;
    const items = sp - sp0;
    if (items < 1 || items > SK_MAX_ITEMS || ops > SK_MAX_OPS || e - s > SK_MAX_BYTES) return false;
    const marks = SK_MARKS;
    let nMarks = 0;
    let maxMarks = 0;
    let d = 0;
    let peak = 0;
    let below = 0;
    let checks = 0;
    let strs = 0;
    let puts = 0;
    let strPuts = 0;
    // the text of the str on top of the item's shadow stack (-1: not a str)
    let topStart = -1;
    let topEnd = 0;
    let rank = 0;
    let n = 0;
    const at = this.#skAt;
    const bytes = this.#skByte;
    let q = s;
    while (q < e) {
      const code = buf[q] as number;
      const w = runOpWidth(buf, q);
      if (checks >= SK_MAX_CHECKS - 5) return false;
      at[checks] = q - s;
      bytes[checks++] = code;
      const top = topStart;
      topStart = -1;
      switch (RUN_CLASS[code]) {
        case C_FIXED:
          d++;
          break;
        case C_STR: {
          const h = 1 + (LENGTH_BYTES[code] as number);
          topStart = q + h - s;
          topEnd = q + w - s;
          for (let k = 1; k < h; k++) {
            at[checks] = q + k - s;
            bytes[checks++] = buf[q + k] as number;
          }
          this.#skStr[3 * strs] = q + h - s;
          this.#skStr[3 * strs + 1] = q + w - s;
          this.#skStr[3 * strs + 2] = nMarks === 0 && w - h >= 2 ? 1 : 0;
          strs++;
          d++;
          break;
        }
        case C_LONG1:
          at[checks] = q + 1 - s;
          bytes[checks++] = buf[q + 1] as number;
          d++;
          break;
        case C_MEMO:
          topStart = top;
          if (d <= (nMarks === 0 ? 0 : (marks[nMarks - 1] as number))) {
            if (nMarks !== 0) return false;
            below = 1; // the put of the item before this one: the shadow stack must not be empty
            this.#skStrPut[3 * strPuts] = rank;
            this.#skStrPut[3 * strPuts + 1] = -1;
            this.#skStrPut[3 * strPuts++ + 2] = 0;
          } else if (top >= 0) {
            this.#skStrPut[3 * strPuts] = rank;
            this.#skStrPut[3 * strPuts + 1] = top;
            this.#skStrPut[3 * strPuts++ + 2] = topEnd;
          }
          if (code !== 0x94) {
            this.#skPutAt[puts] = q - s;
            this.#skPutRank[puts++] = rank;
          }
          rank++;
          break;
        case C_MARK:
          topStart = top;
          marks[nMarks++] = d;
          if (nMarks > maxMarks) maxMarks = nMarks;
          break;
        case C_TUPLE:
          if (nMarks === 0) return false;
          d = (marks[--nMarks] as number) + 1;
          break;
        case C_TUPLEN:
          d -= (POPS[code] as number) - 2;
          if (d < 1) return false;
          break;
        case C_EMPTY:
          d++;
          break;
        case C_APPEND:
          d--;
          if (d < 1) return false;
          break;
        case C_APPENDS:
          if (nMarks === 0) return false;
          d = marks[--nMarks] as number;
          if (d < 1) return false;
          break;
        default:
          return false;
      }
      if (d > peak) peak = d;
      q += w;
      n++;
    }
    if (q !== e || n !== ops || d !== items || nMarks !== 0 || rank !== memo) return false;
    const tags = this.#tags;
    if (sp0 + peak >= tags.length) return false;
    let tagged = 0;
    for (let i = 0; i < items; i++) tagged |= this.#skTags[i] = tags[sp0 + i] as number;
    this.#skTagged = tagged !== 0;
    this.#skChecks = checks;
    this.#skStrs = strs;
    this.#skPuts = puts;
    this.#skStrPuts = strPuts;
    this.#skOps = ops;
    this.#skPushes = pushes;
    this.#skItems = items;
    this.#skMemo = memo;
    this.#skPeak = peak;
    this.#skMarks = maxMarks;
    this.#skBelow = below;
    this.#skTop = topLit >= s ? topLit - s : -1;
    this.#skLast = last - s;
    this.#skLen = e - s;
    return true;
  }

  /**
   * Keeps in the memo the text of the strs the skeleton's memo puts put, for `hits` items from `p`
   * that match it, whose first put is at memo index `first`; `topLit` is the literal on top of the
   * shadow stack before them (see {@link FastPath.#topLit}).
   */
  #keepStrs(buf: Uint8Array, p: number, hits: number, first: number, topLit: number): void {
    const memo = this.#memo;
    const len = this.#skLen;
    const memoOps = this.#skMemo;
    const top = this.#skTop;
    const puts = this.#skStrPut;
    const n = 3 * this.#skStrPuts;
    // the puts only mark entries present: applied now, the texts kept after
    memo.advance(first + hits * memoOps - memo.size);
    if (!memo.keepsText) return;
    if (n === 3) {
      // one put of a SHORT_BINUNICODE of the item, a small part of the item's bytes: the texts
      // of all the items with one copy (the str's length byte and the bytes up to the next str too)
      const start = puts[1] as number;
      const width = (puts[2] as number) - start;
      if (start >= 2 && buf[p + start - 2] === 0x8c && len <= 2 * width + 24) {
        memo.keepTexts(first + (puts[0] as number), memoOps, hits, buf, p + start - 1, len, width);
        return;
      }
    }
    for (let h = 0; h < hits; h++) {
      const at = p + h * len;
      const idx = first + h * memoOps;
      for (let k = 0; k < n; k += 3) {
        const start = puts[k + 1] as number;
        if (start >= 0) {
          memo.keepText(idx + (puts[k] as number), buf, at + start, at + (puts[k + 2] as number));
          continue;
        }
        // the put of the item before: the previous item's top, or what was on top before them
        const lit = h === 0 ? topLit : top >= 0 ? at - len + top : -1;
        if (lit >= 0 && (buf[lit] === 0x8c || buf[lit] === 0x58)) keepText(memo, idx + (puts[k] as number), buf, lit);
      }
    }
  }

  /**
   * How many items in a row from `p` match the skeleton (each is then counted exactly as the
   * skeleton's item was), at most `max`: one call per run of items, with the skeleton's tables in
   * locals (a call per item, not inlined into the large counting loop, cost more than the checks).
   * @param memoNext - the memo index the first item's first put gets
   */
  #matchRun(buf: Uint8Array, p: number, max: number, memoNext: number): number {
    const at = this.#skAt;
    const bytes = this.#skByte;
    const checks = this.#skChecks;
    const str = this.#skStr;
    const strs = 3 * this.#skStrs;
    const putAt = this.#skPutAt;
    const putRank = this.#skPutRank;
    const puts = this.#skPuts;
    const len = this.#skLen;
    const memoOps = this.#skMemo;
    let k = 0;
    items: for (; k < max; k++, p += len, memoNext += memoOps) {
      for (let i = 0; i < checks; i++) if (buf[p + (at[i] as number)] !== bytes[i]) break items;
      for (let i = 0; i < strs; i += 3) {
        let j = p + (str[i] as number);
        const e = p + (str[i + 1] as number);
        if (str[i + 2] === 1 && buf[j] === 0x5f && buf[j + 1] === 0x5f) break items;
        let bits = 0;
        for (; j + 4 <= e; j += 4) {
          bits |= (buf[j] as number) | (buf[j + 1] as number) | (buf[j + 2] as number) | (buf[j + 3] as number);
        }
        for (; j < e; j++) bits |= buf[j] as number;
        if (bits >= 0x80) break items;
      }
      for (let i = 0; i < puts; i++) {
        if (memoIndex(buf, p + (putAt[i] as number), -1) !== memoNext + (putRank[i] as number)) break items;
      }
    }
    return k;
  }

  /**
   * Fast loop inside a deferred run: counts items on the shadow stack and applies memo puts that
   * keep no value. Kept small (it is the hottest code of the engine); everything else is left to
   * {@link FastPath.#runStep} and {@link PickleMachine.op}. Shadow tags are cleared when items are
   * popped, so a position past the stack top is always untagged.
   */
  #countRun(buf: Uint8Array, pos: number, stop: number, maxOps: number): number {
    const memo = this.#memo;
    // the shadow items all become real ones when the run is built: the stack budget counts them
    const room = this.#maxStack - this.#stack.length;
    const markRoom = this.#maxMarks - this.#marks.length;
    const tags = this.#tags;
    const inner = this.#inner;
    let sp = this.#sp;
    let nInner = this.#nInner;
    let fence = nInner === 0 ? 0 : (inner[nInner - 1] as number);
    let topLit = this.#topLit;
    let pushes = this.#partPushes;
    // memo puts at the next index that only mark their entry present, applied at the end
    let memoRoom = memo.appendRoom();
    let memoNext = memo.size;
    // the item being counted at the top level (see the skeletons above): where it starts, its
    // first opcode, whether it can be recorded, and the counts when it started
    let itemAt = -1;
    let itemOp = -1;
    let itemOk = false;
    let sp0 = 0;
    let n0 = 0;
    let pushes0 = 0;
    let memo0 = 0;
    let misses = 0;
    const room1 = Math.min(room, tags.length);
    this.#skLen = 0; // a skeleton is only used by the call that recorded it (same budgets)
    let p = pos;
    let last = pos;
    let n = 0;
    while (n < maxOps && p < stop) {
      let code = buf[p] as number;
      if (nInner === 0) {
        if (code === itemOp && p > itemAt) {
          // an item like the one just counted starts: count it and the next ones by the skeleton
          if (itemOk && misses < SK_MAX_MISSES) {
            this.#record(buf, itemAt, p, sp0, sp, n - n0, pushes - pushes0, memoNext - memo0, topLit, last);
          }
          const len = this.#skLen;
          // a skeleton whose first memo put is of the item before it (recorded after another item,
          // when this one could not be recorded) applies only when that item is not one the memo
          // keeps: a callee's or a call's put must reach the memo, not only mark the entry present
          if (
            len > 0 &&
            this.#skMarks <= markRoom &&
            this.#skMarks <= inner.length &&
            sp >= this.#skBelow &&
            (this.#skBelow === 0 || (((tags[sp - 1] ?? 0) & KEPT) === 0 && (topLit >= 0 || (tags[sp - 1] ?? 0) !== 0)))
          ) {
            const ops = this.#skOps;
            const memoOps = this.#skMemo;
            const items = this.#skItems;
            const skTags = this.#skTagged ? this.#skTags : undefined;
            const pEnd = stop - len;
            const nEnd = maxOps - ops;
            const spEnd = room1 - this.#skPeak;
            // as many items as the bytes, the opcode budget, the shadow stack and the memo room
            // allow: item k (from 0) needs p + k*len <= pEnd, n + k*ops <= nEnd,
            // sp + k*items < spEnd and memoRoom - k*memoOps >= memoOps
            let max = 0;
            if (p <= pEnd && n <= nEnd && sp < spEnd && memoRoom >= memoOps) {
              max = Math.min(
                Math.floor((pEnd - p) / len) + 1,
                Math.floor((nEnd - n) / ops) + 1,
                Math.ceil((spEnd - sp) / items),
                memoOps > 0 ? Math.floor(memoRoom / memoOps) : Number.MAX_SAFE_INTEGER,
              );
            }
            const hits = max > 0 ? this.#matchRun(buf, p, max, memoNext) : 0;
            if (hits > 0) {
              if (this.#skStrPuts > 0) this.#keepStrs(buf, p, hits, memoNext, topLit);
              if (skTags !== undefined) {
                for (let h = 0; h < hits; h++, sp += items)
                  for (let i = 0; i < items; i++) tags[sp + i] = skTags[i] as number;
              } else sp += hits * items;
              pushes += hits * this.#skPushes;
              n += hits * ops;
              memoNext += hits * memoOps;
              memoRoom -= hits * memoOps;
              const lastAt = p + (hits - 1) * len;
              topLit = this.#skTop >= 0 ? lastAt + this.#skTop : -1;
              last = lastAt + this.#skLast;
              p += hits * len;
            }
            misses = hits > 0 ? 0 : misses + 1;
            if (n >= maxOps || p >= stop) break;
            code = buf[p] as number;
          }
          itemAt = -1;
        }
        if (itemAt < 0) {
          itemAt = p;
          itemOp = code;
          itemOk = true;
          sp0 = sp;
          n0 = n;
          pushes0 = pushes;
          memo0 = memoNext;
        }
      }
      let w = 0;
      switch (RUN_CLASS[code]) {
        case C_FIXED: {
          // fixed-width literals; a run of the same opcode (floats, ints) in a tight loop
          w = LITERAL_WIDTH[code] as number;
          if (p + w > stop || sp >= room) {
            w = 0;
            break;
          }
          if (buf[p + w] === code) {
            const fit = Math.min(maxOps - n, room - sp, Math.floor((stop - p) / w));
            let q = p + w;
            let j = 1;
            while (j < fit && buf[q] === code) {
              q += w;
              j++;
            }
            sp += j;
            pushes += j;
            n += j;
            p = q;
            topLit = q - w;
            last = topLit;
            continue;
          }
          sp++;
          pushes++;
          topLit = p;
          break;
        }
        case C_STR: {
          w = shortAsciiWidth(buf, p, stop);
          if (sp >= room) w = 0;
          if (w === 0) break;
          // a dunder str where a dict key may be: a full dict still keeps it, so it must exist
          const at = p + w - (buf[p + 1] as number);
          if (nInner === 0 && (sp & 1) === 0 && w - (at - p) >= 2 && buf[at] === 0x5f && buf[at + 1] === 0x5f) {
            w = 0;
            break;
          }
          sp++;
          pushes++;
          topLit = p;
          break;
        }
        case C_LONG1:
          w = p + 2 > stop ? 0 : 2 + (buf[p + 1] as number);
          if (w === 0 || p + w > stop || sp >= room) {
            w = 0;
            break;
          }
          sp++;
          pushes++;
          topLit = p;
          break;
        case C_MEMO: {
          // a memo put of the top item, when the memo only marks it present or, for a tuple or
          // list of literals, keeps only its kind (see memo.ts)
          w = FIXED_WIDTH[code] as number;
          if (sp <= fence || p + w > stop) {
            w = 0;
            break;
          }
          const i = memoIndex(buf, p, memoNext);
          if (sp - 1 < tags.length && ((tags[sp - 1] as number) & KEPT) !== 0) {
            // the memo keeps a callee or a call: a call without arguments right after its REDUCE
            // compactly, the others by the machine
            if (tags[sp - 1] !== (CALL | CALL0) || p !== last + 1 || buf[last] !== 0x52 || i > 0x7fffffff) {
              w = 0;
              break;
            }
            if (memoNext !== memo.size) memo.advance(memoNext - memo.size);
            if (!this.#putCall(i, this.#runBase + last, this.#runBase + p)) w = 0;
            itemOk = false;
            memoRoom = memo.appendRoom();
            memoNext = memo.size;
            break;
          }
          if (topLit < 0 && (tags[sp - 1] ?? 0) === 0) {
            // a literal read from an earlier buffer (maybe a str, whose text the memo keeps):
            // the machine puts it
            w = 0;
            break;
          }
          if (i === memoNext && memoRoom > 0) {
            memoRoom--;
            memoNext++;
            if (topLit >= 0 && (buf[topLit] === 0x8c || buf[topLit] === 0x58)) {
              // a str: the memo keeps its text
              memo.advance(memoNext - memo.size);
              keepText(memo, i, buf, topLit);
            }
            break;
          }
          if (memoNext !== memo.size) memo.advance(memoNext - memo.size);
          itemOk = false; // the memo keeps something: a skeleton has only puts that keep nothing
          const tag = sp - 1 < tags.length ? (tags[sp - 1] as number) : DEEP;
          if ((tag & (SEQ | DEEP)) !== SEQ || !memo.putSeqKind(i, (tag & LIST) !== 0)) w = 0;
          memoRoom = memo.appendRoom();
          memoNext = memo.size;
          break;
        }
        case C_MARK:
          if (nInner >= markRoom || nInner >= inner.length) break;
          inner[nInner++] = sp;
          fence = sp;
          w = 1;
          break;
        case C_TUPLE: {
          if (nInner === 0) break;
          const m = inner[nInner - 1] as number;
          if (m >= room) break;
          nInner--;
          fence = nInner === 0 ? 0 : (inner[nInner - 1] as number);
          const held = takeTags(tags, m, sp);
          if (m < tags.length) tags[m] = ((held & NONFLAT) !== 0 ? SEQ | DEEP : SEQ) | (held & REFS ? HOLDS_REF : 0);
          sp = m + 1;
          pushes++;
          topLit = -1;
          w = 1;
          break;
        }
        case C_TUPLEN: {
          const k = (POPS[code] as number) - 1;
          if (sp - fence < k) break;
          const m = sp - k;
          const held = takeTags(tags, m, sp);
          if (m < tags.length) tags[m] = ((held & NONFLAT) !== 0 ? SEQ | DEEP : SEQ) | (held & REFS ? HOLDS_REF : 0);
          sp = m + 1;
          pushes++;
          topLit = -1;
          w = 1;
          break;
        }
        case C_EMPTY:
          if (sp >= room) break;
          if (code === 0x5d) {
            // EMPTY_LIST
            if (sp >= tags.length) break;
            tags[sp] = LIST | SEQ;
          } else if (sp < tags.length) tags[sp] = SEQ;
          sp++;
          pushes++;
          topLit = -1;
          w = 1;
          break;
        case C_APPEND:
          if (sp - fence < 2 || ((tags[sp - 2] as number) & LIST) === 0) break;
          sp--;
          if (sp >= tags.length || ((tags[sp] as number) & NONFLAT) !== 0)
            tags[sp - 1] = (tags[sp - 1] as number) | DEEP;
          if (sp >= tags.length || ((tags[sp] as number) & REFS) !== 0)
            tags[sp - 1] = (tags[sp - 1] as number) | HOLDS_REF;
          tags[sp] = 0;
          topLit = -1;
          w = 1;
          break;
        case C_APPENDS: {
          // to a list inside the run (the batch's own APPENDS is for #runStep)
          if (nInner === 0) break;
          const m = inner[nInner - 1] as number;
          const outer = nInner === 1 ? 0 : (inner[nInner - 2] as number);
          if (m <= outer || ((tags[m - 1] as number) & LIST) === 0) break;
          nInner--;
          fence = outer;
          const held = takeTags(tags, m, sp);
          if ((held & NONFLAT) !== 0) tags[m - 1] = (tags[m - 1] as number) | DEEP;
          if ((held & REFS) !== 0) tags[m - 1] = (tags[m - 1] as number) | HOLDS_REF;
          sp = m;
          topLit = -1;
          w = 1;
          break;
        }
        case C_GET:
        case C_REDUCE: {
          // calls of the run's callee: counted out of this loop (see #countCall)
          const width = this.#countCall(buf, p, stop, sp, maxOps - n, room1, fence);
          if (width === 0) break;
          sp = this.#cSp;
          pushes += this.#cOps;
          n += this.#cOps;
          last = this.#cLast;
          topLit = -1;
          itemOk = false;
          p += width;
          continue;
        }
      }
      if (w === 0) break;
      last = p;
      p += w;
      n++;
    }
    if (memoNext !== memo.size) memo.advance(memoNext - memo.size);
    this.#sp = sp;
    this.#nInner = nInner;
    this.#topLit = topLit;
    this.#partPushes = pushes;
    this.#ops = n;
    this.#last = last;
    return p;
  }

  /** What the last {@link FastPath.#countCall} did: shadow depth, opcodes (each a push), last opcode. */
  #cSp = 0;
  #cOps = 0;
  #cLast = 0;

  /**
   * Counts a memo get of the run's callee or a call of it at `p` (see #callee), with the budgets
   * of {@link FastPath.#countRun} (`ops` opcodes left, shadow room `room`, innermost MARK `fence`):
   * a `BINGET callee, EMPTY_TUPLE, REDUCE` item and the same bytes after it at once, each as its
   * three opcodes would be (C_GET, C_EMPTY, C_REDUCE) without the shadow tuple.
   * @returns the bytes counted (0: none, the opcode is left to the machine)
   */
  #countCall(buf: Uint8Array, p: number, stop: number, sp: number, ops: number, room: number, fence: number): number {
    const tags = this.#tags;
    const code = buf[p] as number;
    if (code === 0x52) {
      // REDUCE of a REF and a tuple of literals, once the callee's site keeps no more records
      const callee = this.#callee;
      if (
        callee === undefined ||
        sp - fence < 2 ||
        sp > tags.length ||
        tags[sp - 1] !== SEQ ||
        tags[sp - 2] !== REF ||
        callee.site.calls.length < CALL_RECORDS
      )
        return 0;
      callee.site.callCount++;
      tags[sp - 1] = 0;
      tags[sp - 2] = CALL;
      this.#cSp = sp - 1;
      this.#cOps = 1;
      this.#cLast = p;
      return 1;
    }
    // BINGET, LONG_BINGET
    const w = FIXED_WIDTH[code] as number;
    if (p + w > stop || sp >= room) return 0;
    const ref = this.#memo.refAt(code === 0x68 ? (buf[p + 1] as number) : memoIndex(buf, p, 0));
    if (ref === undefined || (ref !== this.#callee && !this.#adopt(ref))) return 0;
    const len = w + 2;
    if (
      p + len <= stop &&
      buf[p + w] === 0x29 &&
      buf[p + w + 1] === 0x52 &&
      ref.site.calls.length >= CALL_RECORDS &&
      sp + 1 < room &&
      ops >= 3
    ) {
      const fit = Math.min(Math.floor((stop - p) / len), Math.floor(ops / 3), room - 1 - sp);
      let k = 1;
      let q = p + len;
      for (; k < fit; k++, q += len) {
        let same = buf[q + w] === 0x29 && buf[q + w + 1] === 0x52;
        for (let j = 0; j < w && same; j++) same = buf[q + j] === buf[p + j];
        if (!same) break;
      }
      for (let j = 0; j < k; j++) tags[sp + j] = CALL | CALL0;
      ref.site.callCount += k;
      this.#cSp = sp + k;
      this.#cOps = 3 * k;
      this.#cLast = q - 1;
      return q - p;
    }
    tags[sp] = REF;
    this.#cSp = sp + 1;
    this.#cOps = 1;
    this.#cLast = p;
    return w;
  }

  /**
   * One opcode inside a deferred run that {@link FastPath.#countRun} leaves: a memo put that keeps
   * the value of a literal, or the APPENDS/ADDITEMS/SETITEMS giving the run to its container.
   * @returns its width, or 0 when {@link PickleMachine.op} must execute it
   */
  #runStep(buf: Uint8Array, p: number, stop: number, base: number): number {
    const code = buf[p] as number;
    const sp = this.#sp;
    const nInner = this.#nInner;
    if (code === 0x94 || code === 0x72 || code === 0x71) {
      // MEMOIZE, LONG_BINPUT, BINPUT
      const w = FIXED_WIDTH[code] as number;
      const fence = nInner === 0 ? 0 : (this.#inner[nInner - 1] as number);
      if (sp <= fence || p + w > stop) return 0;
      // the memo keeps a callee or a call: the machine puts it
      if (sp - 1 < this.#tags.length && ((this.#tags[sp - 1] as number) & KEPT) !== 0) return 0;
      const memo = this.#memo;
      const i = memoIndex(buf, p, memo.size);
      const lit = this.#topLit;
      // a literal read from an earlier buffer (maybe a str, whose text the memo keeps): the machine
      if (lit < 0 && (this.#tags[sp - 1] ?? 0) === 0) return 0;
      const op = lit < 0 ? -1 : (buf[lit] as number);
      if (op === 0x8c || op === 0x58) {
        // a str's text (short ASCII: the counting checked it) is kept as bytes, no string built
        if (memo.full) return 0;
        const start = lit + 1 + (LENGTH_BYTES[op] as number);
        memo.storeAscii(i, buf, start, start + (buf[lit + 1] as number), base + p);
      } else if (!memo.putPresence(i)) {
        if (memo.full || lit < 0) return 0;
        memo.store(i, this.#memoValue(buf, lit), base + p);
      }
      this.#runEnd = p + w;
      return w;
    }
    if (code !== 0x65 && code !== 0x90 && code !== 0x75) return 0;
    // APPENDS, ADDITEMS, SETITEMS: the run's items go to the full container below the mark
    if (nInner !== 0 || sp === 0 || (code === 0x75 && (sp & 1) !== 0)) return 0;
    const marks = this.#marks;
    const m = marks.length;
    if (m === 0) return 0;
    const x = marks[m - 1] as number;
    const s = this.#stack;
    if (x !== s.length || x <= (m === 1 ? 0 : (marks[m - 2] as number))) return 0;
    const t = s[x - 1];
    const cap = this.#cap;
    // the callee among the dropped items: the machine builds them (they escape, see markEscaped)
    if (this.#callee !== undefined) {
      if (sp > this.#tags.length) return 0;
      for (let i = 0; i < sp; i++) if (((this.#tags[i] as number) & REFS) !== 0) return 0;
    }
    if (code === 0x75) {
      if (!(t instanceof PyDict && t.keys.length >= cap)) return 0;
      t.count += sp / 2;
      t.truncated = true;
    } else {
      if (!(t instanceof PySeq && (t.kind === "list" || t.kind === "set") && t.items.length >= cap)) return 0;
      t.forgetOctets(); // counted, not seen
      t.count += sp;
    }
    marks.pop();
    this.#reset();
    return 1;
  }
}
