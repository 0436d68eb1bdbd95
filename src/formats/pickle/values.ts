/**
 * Symbolic values of the pickle machine. Every value knows where it came from: a literal, an
 * imported global (or a name derived from one), or the result of a call. Containers keep only
 * their first items (see {@link CONTAINER_CAP}); what they drop was already recorded when it was
 * created, so nothing dangerous is lost, only evidence detail.
 * @module
 */
import { pushAll } from "../../core/arrays.js";

/** How many items a container keeps (the count is always exact). */
export const CONTAINER_CAP = 64;

/**
 * The retained-value meter: units of every value a container keeps (tuple, list, set and dict
 * items, partial and operator arguments, BUILD state and instance hooks), charged when it is kept
 * and never refunded. Values only on the stack or in the memo are bounded by their own budgets;
 * values kept inside others are not (containers nest: 3.9 million nested lists in 7.8 MB took
 * 1.3 GB), so each machine reads this meter around the code it runs (nothing else runs in
 * between: one thread, no await) and stops at its budget (`MachineOptions.maxRetained`). A call's
 * or persistent id's own few references are not charged: their argument tuples were charged for
 * their items when built, and the call is charged wherever it is kept.
 */
export const RETAINED = { units: 0 };
/** Units of a kept container, call or other compound value (about four times a str's memory). */
export const COMPOUND_UNITS = 4;

/**
 * Units a kept value costs: {@link COMPOUND_UNITS} for a container, call, partial or other
 * object; 1 for a str, bytes, big int or float object; nothing for None, bools and small numbers.
 * @param v - the value kept
 */
export function retainCost(v: Value | undefined): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === "object") {
    return v instanceof PyStr || v instanceof PyBytes || v instanceof PyFloat || v instanceof PyLargeStr
      ? 1
      : COMPOUND_UNITS;
  }
  return typeof v === "string" || typeof v === "bigint" ? 1 : 0;
}

/** {@link retainCost} of each of `items`. */
function retainCosts(items: readonly Value[]): number {
  let n = 0;
  for (let i = 0; i < items.length; i++) n += retainCost(items[i]);
  return n;
}

/**
 * A Python float with an integral value (kept apart from int so previews read like Python).
 * Non-integral floats, NaN and infinities are plain JS numbers: an int is always integral.
 */
export class PyFloat {
  /** @param value - the double */
  constructor(readonly value: number) {}
}

/**
 * A `str` decoded lazily from the chunk it was read from: opcode-dense pickles carry millions
 * of short strings that are never looked at. {@link PyStr.value} decodes on first use and drops
 * the reference to the chunk.
 */
export class PyStr {
  /** Bytes holding the UTF-8 text until decoded (internal). */
  private b: Uint8Array | undefined;
  /** First byte (internal). */
  private s: number;
  /** End byte (internal). */
  private e: number;
  /** Decoded text (internal). */
  private v: string | undefined;

  /**
   * @param buf - bytes holding the UTF-8 text
   * @param start - first byte
   * @param end - end, exclusive
   */
  constructor(buf: Uint8Array | undefined, start: number, end: number) {
    this.b = buf;
    this.s = start;
    this.e = end;
    this.v = undefined;
  }

  /** A str whose value is already known. */
  static of(value: string): PyStr {
    const s = new PyStr(undefined, 0, 0);
    s.v = value;
    return s;
  }

  /** Byte length of the UTF-8 encoding. */
  get byteLength(): number {
    return this.v === undefined ? this.e - this.s : Buffer.byteLength(this.v);
  }

  /** Whether the value is decoded (no chunk retained). */
  get materialized(): boolean {
    return this.b === undefined;
  }

  /** Whether it starts with `__` (checked without decoding). */
  get isDunder(): boolean {
    const b = this.b;
    if (b !== undefined) return this.e - this.s >= 2 && b[this.s] === 0x5f && b[this.s + 1] === 0x5f;
    return (this.v ?? "").startsWith("__");
  }

  /** The decoded text (the machine only creates lazy strings for ASCII bytes). */
  get value(): string {
    let v = this.v;
    if (v === undefined) {
      v = this.b === undefined ? "" : decodeUtf8(this.b, this.s, this.e).text;
      this.v = v;
      this.b = undefined;
    }
    return v;
  }
}

const EMPTY = new Uint8Array(0);
const UTF8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Decodes UTF-8 as CPython does for BINUNICODE (`surrogatepass`: encoded surrogates are
 * accepted). Fast path for ASCII.
 * @param buf - bytes
 * @param start - first byte
 * @param end - end, exclusive
 */
export function decodeUtf8(buf: Uint8Array, start: number, end: number): { text: string; ok: boolean } {
  let ascii = true;
  for (let i = start; i < end; i++) {
    if ((buf[i] as number) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return { text: latin1(buf, start, end), ok: true };
  try {
    return { text: UTF8.decode(buf.subarray(start, end)), ok: true };
  } catch {
    return decodeSurrogatePass(buf, start, end);
  }
}

/**
 * Latin-1 decoding (every byte one code point).
 * @param buf - bytes
 * @param start - first byte
 * @param end - end, exclusive
 */
export function latin1(buf: Uint8Array, start: number, end: number): string {
  return end - start < 16
    ? latin1Short(buf, start, end)
    : Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString("latin1");
}

/** {@link latin1} for fewer than 16 bytes (names, dict keys): one flat string, no temporaries. */
function latin1Short(b: Uint8Array, s: number, end: number): string {
  switch (end - s) {
    case 1:
      return String.fromCharCode(b[s] as number);
    case 2:
      return String.fromCharCode(b[s] as number, b[s + 1] as number);
    case 3:
      return String.fromCharCode(b[s] as number, b[s + 1] as number, b[s + 2] as number);
    case 4:
      return String.fromCharCode(b[s] as number, b[s + 1] as number, b[s + 2] as number, b[s + 3] as number);
    case 5:
      return String.fromCharCode(
        b[s] as number,
        b[s + 1] as number,
        b[s + 2] as number,
        b[s + 3] as number,
        b[s + 4] as number,
      );
    case 6:
      return String.fromCharCode(
        b[s] as number,
        b[s + 1] as number,
        b[s + 2] as number,
        b[s + 3] as number,
        b[s + 4] as number,
        b[s + 5] as number,
      );
    case 7:
      return String.fromCharCode(
        b[s] as number,
        b[s + 1] as number,
        b[s + 2] as number,
        b[s + 3] as number,
        b[s + 4] as number,
        b[s + 5] as number,
        b[s + 6] as number,
      );
    case 8:
      return String.fromCharCode(
        b[s] as number,
        b[s + 1] as number,
        b[s + 2] as number,
        b[s + 3] as number,
        b[s + 4] as number,
        b[s + 5] as number,
        b[s + 6] as number,
        b[s + 7] as number,
      );
    case 9:
      return String.fromCharCode(
        b[s] as number,
        b[s + 1] as number,
        b[s + 2] as number,
        b[s + 3] as number,
        b[s + 4] as number,
        b[s + 5] as number,
        b[s + 6] as number,
        b[s + 7] as number,
        b[s + 8] as number,
      );
    case 10:
      return String.fromCharCode(
        b[s] as number,
        b[s + 1] as number,
        b[s + 2] as number,
        b[s + 3] as number,
        b[s + 4] as number,
        b[s + 5] as number,
        b[s + 6] as number,
        b[s + 7] as number,
        b[s + 8] as number,
        b[s + 9] as number,
      );
    case 11:
      return String.fromCharCode(
        b[s] as number,
        b[s + 1] as number,
        b[s + 2] as number,
        b[s + 3] as number,
        b[s + 4] as number,
        b[s + 5] as number,
        b[s + 6] as number,
        b[s + 7] as number,
        b[s + 8] as number,
        b[s + 9] as number,
        b[s + 10] as number,
      );
    case 12:
      return String.fromCharCode(
        b[s] as number,
        b[s + 1] as number,
        b[s + 2] as number,
        b[s + 3] as number,
        b[s + 4] as number,
        b[s + 5] as number,
        b[s + 6] as number,
        b[s + 7] as number,
        b[s + 8] as number,
        b[s + 9] as number,
        b[s + 10] as number,
        b[s + 11] as number,
      );
    case 13:
      return String.fromCharCode(
        b[s] as number,
        b[s + 1] as number,
        b[s + 2] as number,
        b[s + 3] as number,
        b[s + 4] as number,
        b[s + 5] as number,
        b[s + 6] as number,
        b[s + 7] as number,
        b[s + 8] as number,
        b[s + 9] as number,
        b[s + 10] as number,
        b[s + 11] as number,
        b[s + 12] as number,
      );
    case 14:
      return String.fromCharCode(
        b[s] as number,
        b[s + 1] as number,
        b[s + 2] as number,
        b[s + 3] as number,
        b[s + 4] as number,
        b[s + 5] as number,
        b[s + 6] as number,
        b[s + 7] as number,
        b[s + 8] as number,
        b[s + 9] as number,
        b[s + 10] as number,
        b[s + 11] as number,
        b[s + 12] as number,
        b[s + 13] as number,
      );
    case 15:
      return String.fromCharCode(
        b[s] as number,
        b[s + 1] as number,
        b[s + 2] as number,
        b[s + 3] as number,
        b[s + 4] as number,
        b[s + 5] as number,
        b[s + 6] as number,
        b[s + 7] as number,
        b[s + 8] as number,
        b[s + 9] as number,
        b[s + 10] as number,
        b[s + 11] as number,
        b[s + 12] as number,
        b[s + 13] as number,
        b[s + 14] as number,
      );
    default:
      return "";
  }
}

function decodeSurrogatePass(buf: Uint8Array, start: number, end: number): { text: string; ok: boolean } {
  let out = "";
  let i = start;
  while (i < end) {
    const b0 = buf[i] as number;
    let cp = -1;
    let n = 1;
    if (b0 < 0x80) cp = b0;
    else if (b0 >= 0xc2 && b0 < 0xe0 && i + 1 < end) {
      cp = ((b0 & 0x1f) << 6) | ((buf[i + 1] as number) & 0x3f);
      n = 2;
      if (((buf[i + 1] as number) & 0xc0) !== 0x80) cp = -1;
    } else if (b0 >= 0xe0 && b0 < 0xf0 && i + 2 < end) {
      const b1 = buf[i + 1] as number;
      const b2 = buf[i + 2] as number;
      if ((b1 & 0xc0) === 0x80 && (b2 & 0xc0) === 0x80) {
        cp = ((b0 & 0x0f) << 12) | ((b1 & 0x3f) << 6) | (b2 & 0x3f);
        if (cp < 0x800) cp = -1;
      }
      n = 3;
    } else if (b0 >= 0xf0 && b0 < 0xf5 && i + 3 < end) {
      const b1 = buf[i + 1] as number;
      const b2 = buf[i + 2] as number;
      const b3 = buf[i + 3] as number;
      if ((b1 & 0xc0) === 0x80 && (b2 & 0xc0) === 0x80 && (b3 & 0xc0) === 0x80) {
        cp = ((b0 & 0x07) << 18) | ((b1 & 0x3f) << 12) | ((b2 & 0x3f) << 6) | (b3 & 0x3f);
        if (cp < 0x10000 || cp > 0x10ffff) cp = -1;
      }
      n = 4;
    }
    if (cp < 0) return { text: out + latin1(buf, i, end), ok: false };
    out += String.fromCodePoint(cp);
    i += n;
  }
  return { text: out, ok: true };
}

/** Where a large payload lives in the input (it was not copied). */
export interface BlobRef {
  /** Absolute byte offset of the payload in the analysed stream. */
  readonly offset: number;
  /** Payload length in bytes. */
  readonly length: number;
  /** The first bytes (for sniffing and previews). */
  readonly head: Uint8Array;
  /** How the payload bytes must be interpreted: raw bytes or UTF-8 text. */
  readonly encoding: "bytes" | "utf8";
}

/**
 * `bytes`/`bytearray`. Small payloads are held in memory; large ones are a {@link BlobRef} with
 * a list of pending transforms (a base64 decode of a huge str, say) applied only when a nested
 * analysis needs the bytes.
 */
export class PyBytes {
  /**
   * @param data - the bytes, when held in memory
   * @param blob - where the bytes are in the input, when not held
   * @param transforms - decodings to apply to the blob before use
   * @param mutable - bytearray rather than bytes
   */
  constructor(
    readonly data: Uint8Array | undefined,
    readonly blob: BlobRef | undefined = undefined,
    readonly transforms: readonly string[] = [],
    readonly mutable = false,
  ) {}

  /**
   * A bytearray changed in a way the machine does not model (item assignment, APPEND(S), handed to
   * code it does not model): its bytes are no longer known (see {@link isMutated}).
   */
  mutated = false;

  /** Length in bytes when known (transforms may change it). */
  get length(): number {
    return this.data?.length ?? (this.transforms.length === 0 ? (this.blob?.length ?? 0) : -1);
  }

  /** First bytes, for sniffing. */
  get head(): Uint8Array {
    return this.data ?? (this.transforms.length === 0 ? (this.blob?.head ?? EMPTY) : EMPTY);
  }
}

/** A `str` too large to decode eagerly: only its head is known. */
export class PyLargeStr {
  /** @param blob - where the UTF-8 bytes are */
  constructor(readonly blob: BlobRef) {}
}

/** tuple, list, set or frozenset. */
export class PySeq {
  /** Kept items (the first {@link CONTAINER_CAP}). */
  readonly items: Value[];
  /** Exact number of items. */
  count: number;
  /** How far its items escaped (see {@link markEscaped}): items added later escape as far. */
  escaped: EscapeLevel = 0;
  /** Changed in a way the machine does not model (SETITEM(S) ...): see {@link isMutated}. */
  mutated = false;

  /**
   * @param kind - which Python type
   * @param items - its first items, already materialised (the array is taken over)
   */
  constructor(
    readonly kind: "tuple" | "list" | "set" | "frozenset",
    items: Value[] = [],
  ) {
    this.items = items;
    this.count = items.length;
    if (items.length > 0) RETAINED.units += retainCosts(items);
  }

  /**
   * Appends an item, keeping it only under the cap.
   * @param v - the item
   * @param cap - retention cap
   */
  push(v: Value, cap: number): void {
    if (this.items.length < cap) {
      RETAINED.units += retainCost(v);
      this.items.push(materialize(v));
      if (this.escaped !== 0) markEscaped(v, this.escaped);
    } else {
      markEscaped(v, DROPPED); // dropped: where it goes is no longer followed
      this.#overflow(v);
    }
    this.count++;
  }

  /**
   * Byte values of every item past the kept ones while all items are ints in 0..255 (the list of
   * ints `bytes(...)` / `bytearray(...)` turn into a nested payload): `undefined` while nothing
   * was dropped, `null` once an item is not a byte, the sequence is a set, or
   * {@link MAX_SEQ_OCTETS} is passed.
   */
  #octets: Uint8Array | null | undefined = undefined;
  /** Bytes of {@link PySeq.#octets} in use. */
  #octetCount = 0;

  /** Whether items dropped past the cap are still known as byte values (see {@link seqOctets}). */
  get tracksOctets(): boolean {
    return this.#octets !== null && this.kind !== "set" && this.kind !== "frozenset";
  }

  /** Stops tracking byte values (items were counted without being seen). */
  forgetOctets(): void {
    this.#octets = null;
  }

  /** Takes over the byte values another sequence tracked (LIST over the items TUPLE gathered). */
  adoptOctets(from: PySeq): void {
    this.#octets = from.#octets;
    this.#octetCount = from.#octetCount;
  }

  /** Every item's byte value, or undefined unless all are known ints in 0..255. */
  octets(): Uint8Array | undefined {
    if (this.mutated) return undefined; // item assignment ... not modelled
    if (this.count === this.items.length) return bytesOfItems(this.items, this.items.length);
    const o = this.#octets;
    if (o === null || o === undefined || this.#octetCount !== this.count) return undefined;
    return o.subarray(0, this.#octetCount);
  }

  #overflow(v: Value): void {
    if (this.#octets === null) return;
    if (!this.tracksOctets || this.count + 1 > MAX_SEQ_OCTETS) {
      this.#octets = null;
      return;
    }
    if (this.#octets === undefined) {
      // the first dropped item: the kept ones must be every item so far, and all bytes
      const head = this.count === this.items.length ? bytesOfItems(this.items, 256) : undefined;
      if (head === undefined) {
        this.#octets = null;
        return;
      }
      this.#octets = head;
      this.#octetCount = this.items.length;
    }
    const n = intOf(v);
    if (n === undefined || n < 0 || n > 255) {
      this.#octets = null;
      return;
    }
    let buf = this.#octets;
    if (this.#octetCount >= buf.length) {
      const grown = new Uint8Array(Math.min(MAX_SEQ_OCTETS, buf.length * 2));
      grown.set(buf);
      buf = grown;
      this.#octets = grown;
    }
    buf[this.#octetCount++] = n;
  }
}

/**
 * Most items of a list or tuple whose byte values are tracked past the container cap (256 KiB: a
 * payload built from a longer list of ints is reported as not computed, which fails closed).
 */
export const MAX_SEQ_OCTETS = 1 << 18;

/**
 * The byte values of items (all ints in 0..255), in a buffer of at least `room` bytes, or
 * undefined when one is not.
 */
function bytesOfItems(items: readonly Value[], room: number): Uint8Array | undefined {
  const out = new Uint8Array(Math.max(room, items.length));
  for (let i = 0; i < items.length; i++) {
    const n = intOf(items[i]);
    if (n === undefined || n < 0 || n > 255) return undefined;
    out[i] = n;
  }
  return room > items.length ? out : out.subarray(0, items.length);
}

/**
 * What a memo GET returns for a tuple or list of scalars and strs the memo did not keep (see
 * `memo.ts`): a sequence of the right kind whose items and length are unknown. It stays empty:
 * items appended to it are dropped and {@link PySeq.count} is always -1, so nothing reads it as
 * complete (`count === items.length`).
 */
export class PyElidedSeq extends PySeq {
  /** @param kind - the kind of the sequence the memo did not keep */
  constructor(kind: "tuple" | "list") {
    super(kind, Object.freeze([]) as unknown as Value[]);
    Object.defineProperty(this, "count", { get: () => -1, set: () => {}, enumerable: true });
  }

  /** Drops the item (the sequence's items are unknown). */
  override push(v: Value, _cap: number): void {
    markEscaped(v, DROPPED);
  }
}

/**
 * Whether a value is a tuple or list whose kept items are all scalars (None, bools, ints, floats)
 * or strs: what the memo may keep as only its kind past its budget (see `memo.ts`).
 * @param v - a sequence
 */
export function isPlainSeq(v: PySeq): boolean {
  if (v.kind !== "tuple" && v.kind !== "list") return false;
  const items = v.items;
  for (let i = 0; i < items.length; i++) {
    const x = items[i];
    if (x !== null && typeof x === "object" && !(x instanceof PyStr) && !(x instanceof PyFloat)) return false;
  }
  return true;
}

/** dict. */
export class PyDict {
  /** Kept keys (first {@link CONTAINER_CAP}). */
  readonly keys: Value[] = [];
  /** Values matching {@link PyDict.keys}. */
  readonly values: Value[] = [];
  /** Exact number of items (pairs set, duplicates included). */
  count = 0;
  /** Dunder str keys seen past the cap, with their values. */
  overflowDunders: [string, Value][] | undefined;
  /**
   * An item was set past the cap and not kept: a key read from the kept ones may have a later
   * value that was not kept (nothing that must be exact reads such a dict).
   */
  truncated = false;
  /**
   * A key is not a literal (computed by a call the machine does not evaluate): it may equal a kept
   * key (and replace its value) or be a special attribute name, so nothing reads this dict as
   * exact either.
   */
  inexact = false;
  /**
   * A key is a memo entry the memo did not keep ({@link ELIDED}): a literal the analysis could not
   * read for its budget, not one computed at run time.
   */
  unreadKey = false;
  /** How far its keys and values escaped (see {@link markEscaped}): items set later escape as far. */
  escaped: EscapeLevel = 0;

  /**
   * Whether a value read under a key is certain: no key past the cap, none computed, and the dict
   * was not handed to code that may change it (an unmodelled call, a `__setstate__`).
   */
  get exact(): boolean {
    return !this.truncated && !this.inexact && this.escaped !== HANDED;
  }

  /**
   * Sets an item, keeping it only under the cap (a repeated literal key replaces the earlier one).
   * @param k - key
   * @param v - value
   * @param cap - retention cap
   */
  set(k: Value, v: Value, cap: number): void {
    this.count++;
    if (!(k instanceof PyStr) && !isExactKey(k)) {
      this.inexact = true;
      if (k === ELIDED) this.unreadKey = true;
    }
    if (this.escaped !== 0) {
      markEscaped(k, this.escaped);
      markEscaped(v, this.escaped);
    }
    if (this.keys.length >= cap) {
      this.truncated = true;
      // a str key or a scalar holds no reference
      if (typeof k === "object" && k !== null && !(k instanceof PyStr)) markEscaped(k, DROPPED);
      if (typeof v === "object" && v !== null) markEscaped(v, DROPPED);
      // special attributes and the instance hooks the unpickler looks up (`extend`, `append`,
      // `add`): what BUILD and APPENDS do with them must not depend on where the key comes
      if (
        k instanceof PyStr
          ? k.isDunder || OVERFLOW_HOOKS.has(k.value)
          : typeof k === "string" && (k.startsWith("__") || OVERFLOW_HOOKS.has(k))
      ) {
        this.overflowDunders ??= [];
        this.overflowDunders.push([strOf(k) ?? "", v]);
        RETAINED.units += 1 + retainCost(v);
      }
      return;
    }
    const key = materialize(k);
    const text = strOf(key);
    // A str with surrogates may be two keys in Python that are one string here (a pair encoded
    // as two lone surrogates, or as one character).
    if (text !== undefined && SURROGATE.test(text)) this.inexact = true;
    for (let i = 0; i < this.keys.length; i++) {
      const existing = this.keys[i];
      if (existing === key || (text !== undefined && strOf(existing) === text)) {
        // the value replaced may live on in Python if the keys differ there
        markEscaped(this.values[i], DROPPED);
        RETAINED.units += retainCost(v);
        this.values[i] = materialize(v);
        return;
      }
    }
    RETAINED.units += retainCost(key) + retainCost(v);
    this.keys.push(key);
    this.values.push(materialize(v));
  }

  /**
   * The value stored under a str key, if kept.
   * @param name - the key
   */
  get(name: string): Value | undefined {
    for (let i = 0; i < this.keys.length; i++) {
      if (strOf(this.keys[i]) === name) return this.values[i];
    }
    return this.overflowDunders?.find(([k]) => k === name)?.[1];
  }

  /** Every kept str key, plus dunder keys past the cap. */
  strKeys(): string[] {
    const out: string[] = [];
    for (const k of this.keys) {
      const s = strOf(k);
      if (s !== undefined) out.push(s);
    }
    for (const [k] of this.overflowDunders ?? []) out.push(k);
    return out;
  }
}

/** How a global was obtained. */
export type RefOrigin = "GLOBAL" | "STACK_GLOBAL" | "INST" | "EXT" | "resolver" | "patched";

/**
 * A reference to a named object: an imported global, a module returned by `__import__`, or an
 * attribute reached from one (`getattr`, `attrgetter`, dotted names). `name` is the canonical
 * dotted path after `_compat_pickle` renames.
 */
export class PyRef {
  /**
   * @param name - canonical dotted name (`os.system`)
   * @param site - the record shared by every reference to this name in one pickle
   * @param isModule - the value is a module object rather than an attribute of one
   */
  constructor(
    readonly name: string,
    readonly site: RefSite,
    readonly isModule = false,
  ) {}
}

/** A call site of a named callee, for evidence. */
export interface CallRecord {
  /** Opcode that made the call (REDUCE, INST, OBJ, NEWOBJ, NEWOBJ_EX, BUILD). */
  readonly opcode: string;
  /** Absolute offset of that opcode. */
  readonly offset: number;
  /** Python-like preview of the arguments. */
  readonly args: string;
  /** How the call was reached (`functools.partial`, `copyreg._reconstructor` ...). */
  readonly via?: string;
  /** `call` runs the callable; `new` only allocates (`cls.__new__`). */
  readonly use: "call" | "new";
}

/** Everything known about one name referenced by a pickle. */
export interface RefSite {
  /** Canonical dotted name. */
  readonly name: string;
  /** Module part of the name as imported (after compat renames), when imported directly. */
  readonly module: string;
  /** Attribute path within the module. */
  readonly qualname: string;
  /** The names as written in the stream, when `_compat_pickle` changed them. */
  readonly rawName?: string;
  /** Opcode that first produced it. */
  readonly origin: RefOrigin;
  /** Offset of that opcode. */
  readonly offset: number;
  /** Protocol in force at that point. */
  readonly proto: number;
  /** How it was derived (resolver chain), for evidence. */
  readonly via?: string;
  /** Calls/instantiations, first few. */
  readonly calls: CallRecord[];
  /** Total calls. */
  callCount: number;
  /** Times it was referenced. */
  refCount: number;
  /** Used as the base of a resolved attribute lookup. */
  consumed: boolean;
  /** Passed as an argument or stored in state (not only called). */
  escaped: boolean;
  /** Calls of this (resolver) global that did not resolve to a name. */
  unresolvedCalls: number;
  /** Names this (resolver) global resolved to. */
  resolvedTo: string[];
  /** Attributes were set on it (BUILD on a global, SETITEM ...). */
  mutated: boolean;
  /** Calls of this (getattr) global that returned a bound method of the table (see bound.ts). */
  boundMethods: number;
}

/** The result of a call or an instantiation. */
export class PyCall {
  /** Attributes set by BUILD state, by name (only the ones that matter are kept). */
  attrs: Map<string, Value> | undefined;
  /** The last BUILD state applied. */
  state: Value | undefined;
  /**
   * Changed in a way the machine does not model (a second BUILD, SETITEM(S), APPEND(S), an
   * attribute set, handed to code it does not model): see {@link isMutated}.
   */
  mutated = false;
  /** Made by `cls.__new__` (NEWOBJ, `copyreg.__newobj__`, `copyreg._reconstructor`): no `__init__` ran. */
  allocated = false;
  /**
   * What the first BUILD put in the object's `__dict__`, when the machine knows it exactly (see
   * {@link BuiltState}); undefined before any BUILD or when not known.
   */
  built: BuiltState | undefined;

  /**
   * @param callee - what was called
   * @param calleeName - its resolved name, or undefined when it cannot be named
   * @param args - positional arguments (a tuple)
   * @param opcode - calling opcode
   * @param offset - its offset
   * @param kwargs - keyword arguments (NEWOBJ_EX)
   */
  constructor(
    readonly callee: Value,
    readonly calleeName: string | undefined,
    readonly args: Value,
    readonly opcode: string,
    readonly offset: number,
    readonly kwargs: Value | undefined = undefined,
  ) {}
}

/**
 * The attribute names a BUILD state sets on an object, as read when BUILD ran (Python copies them
 * into `__dict__` then, so later changes of the state dict do not matter).
 */
export interface BuiltState {
  /** `dict`: a dict (or None); `pair`: a `(dict, slots)` tuple; `other`: anything else (a list of pairs ...). */
  readonly shape: "dict" | "pair" | "other";
  /** Every key, when all are str literals and the dicts are exact; undefined otherwise. */
  readonly keys: ReadonlySet<string> | undefined;
}

/**
 * A bound method `getattr(instance, name)` of a class whose method table says what it is (see
 * bound.ts): a value without a name, so calling it is a call of an unknown callable, and the
 * instance it is bound to may be changed by such a call.
 */
export class PyBoundMethod extends PyCall {
  /**
   * @param callee - the getattr global that made it
   * @param args - the getattr arguments
   * @param opcode - calling opcode
   * @param offset - its offset
   * @param self - the instance
   * @param method - `Class.name`, for evidence
   */
  constructor(
    callee: Value,
    args: Value,
    opcode: string,
    offset: number,
    readonly self: PyCall,
    readonly method: string,
  ) {
    super(callee, undefined, args, opcode, offset);
  }
}

/** Result of `persistent_load(pid)`. */
export class PyPersistent {
  /**
   * @param pid - the persistent id
   * @param offset - opcode offset
   */
  constructor(
    readonly pid: Value,
    readonly offset: number,
  ) {}
}

/** `functools.partial(func, *args)`. */
export class PyPartial {
  /**
   * @param func - wrapped callable
   * @param args - bound positional arguments
   */
  constructor(
    readonly func: Value,
    readonly args: readonly Value[],
  ) {
    RETAINED.units += retainCost(func) + retainCosts(args);
  }
}

/** `operator.attrgetter(*names)`, `operator.itemgetter(*keys)` or `operator.methodcaller(name, *args)`. */
export class PyOperator {
  /**
   * @param kind - which operator factory
   * @param items - attribute names / keys / [method name, ...args]
   */
  constructor(
    readonly kind: "attrgetter" | "itemgetter" | "methodcaller",
    readonly items: readonly Value[],
  ) {
    RETAINED.units += retainCosts(items);
  }
}

/** A namespace mapping of a named object: `vars(x)`, `x.__dict__`, `globals()`, `sys.modules`. */
export class PyNamespace {
  /**
   * @param of - name of the object whose namespace it is (`""` for `sys.modules`)
   * @param modules - it maps module names to modules (`sys.modules`)
   */
  constructor(
    readonly of: string,
    readonly modules = false,
  ) {}
}

/** A code object or function built from code (`compile`, `marshal.loads`, `types.FunctionType`). */
export class PyCode {
  /**
   * @param how - the call that made it
   * @param source - source text, when compiled from a literal string
   */
  constructor(
    readonly how: string,
    readonly source: string | undefined,
  ) {}
}

/** Out-of-band buffer (NEXT_BUFFER) or its read-only view. */
export class PyBuffer {
  /** @param readonly - READONLY_BUFFER applied */
  constructor(readonly readonly = false) {}
}

/** A value the analysis cannot know (an elided memo entry, an unknown result). */
export class PyUnknown {
  /** @param why - short reason, for evidence */
  constructor(readonly why: string) {}
}

/** What a GET of a memo entry the memo did not keep yields (past its budgets, see memo.ts). */
export const ELIDED = new PyUnknown("memo entry not kept (memo larger than the detail budget)");

/**
 * Any symbolic value. `null` is None; `number` an int that fits a double when integral, else a
 * float; `bigint` a larger int.
 */
export type Value =
  | null
  | boolean
  | number
  | bigint
  | string
  | PyStr
  | PyLargeStr
  | PyFloat
  | PyBytes
  | PySeq
  | PyDict
  | PyRef
  | PyCall
  | PyPersistent
  | PyPartial
  | PyOperator
  | PyNamespace
  | PyCode
  | PyBuffer
  | PyUnknown;

/**
 * Replaces a lazy {@link PyStr} by its text so the value no longer pins an input chunk.
 * @param v - any value
 */
export function materialize(v: Value): Value {
  if (v instanceof PyStr) {
    void v.value;
  }
  return v;
}

/**
 * The tuple of `stack[from..]`, as TUPLE builds it: an exact-size array when it fits the container
 * cap, else items pushed one by one (keeping the cap's accounting).
 * @param stack - the machine's stack
 * @param from - first item
 * @param cap - the container cap
 */
export function tupleFrom(stack: readonly Value[], from: number, cap: number): PySeq {
  if (stack.length - from <= cap) {
    const items = stack.slice(from);
    for (let i = 0; i < items.length; i++) materialize(items[i] as Value);
    return new PySeq("tuple", items);
  }
  const t = new PySeq("tuple");
  for (let i = from; i < stack.length; i++) t.push(stack[i] as Value, cap);
  return t;
}

/**
 * The text of a str value (literal), else undefined.
 * @param v - any value
 */
export function strOf(v: Value | undefined): string | undefined {
  if (typeof v === "string") return v;
  if (v instanceof PyStr) return v.value;
  return undefined;
}

/**
 * Whether a value is a Python `str` (CPython's `PyUnicode_CheckExact`).
 * @param v - any value
 */
export function isStr(v: Value | undefined): boolean {
  return typeof v === "string" || v instanceof PyStr || v instanceof PyLargeStr;
}

const SURROGATE = /[\uD800-\uDFFF]/;

/**
 * How far a container's contents escaped: 0 not, {@link DROPPED} (no longer followed: dropped
 * past a cap or by the memo), {@link HANDED} (handed to code the machine does not model, which may
 * also change it: a dict handed over is not read afterwards).
 */
export type EscapeLevel = 0 | 1 | 2;
export const DROPPED = 1;
export const HANDED = 2;

/** How far partials and operators were walked by {@link markEscaped}. */
const WALKED = new WeakMap<object, EscapeLevel>();

/**
 * Marks the references found in a value, however deep, as escaped (their sites: a payload sink
 * that escapes is reported), and the containers on the way with `level`. Each container is walked
 * once per level (it keeps the mark, and items added to it later escape as far), so a shared
 * container dropped many times costs one walk.
 * @param v - any value
 * @param level - {@link HANDED} (the default: handed to unmodelled code) or {@link DROPPED}
 */
export function markEscaped(v: Value | undefined, level: EscapeLevel = HANDED, objects = true): void {
  if (v === null || typeof v !== "object") return;
  if (v instanceof PyRef) {
    v.site.escaped = true;
    return;
  }
  if (v instanceof PyBytes || v instanceof PyCall) {
    if (objects) markMutated(v);
    return;
  }
  if (!(v instanceof PySeq || v instanceof PyDict || v instanceof PyPartial || v instanceof PyOperator)) return;
  const todo: Value[] = [v];
  for (let x = todo.pop(); x !== undefined; x = todo.pop()) {
    if (x === null || typeof x !== "object") continue;
    if (x instanceof PyRef) x.site.escaped = true;
    else if (x instanceof PyBytes || x instanceof PyCall) {
      // a bytearray or an object out of sight may be changed by whatever holds it now
      if (objects) markMutated(x);
    } else if (x instanceof PySeq) {
      if (x.escaped >= level) continue;
      x.escaped = level;
      for (const i of x.items) if (i !== null && typeof i === "object") todo.push(i);
    } else if (x instanceof PyDict) {
      if (x.escaped >= level) continue;
      x.escaped = level;
      for (const i of x.keys) if (i !== null && typeof i === "object") todo.push(i);
      for (const i of x.values) if (i !== null && typeof i === "object") todo.push(i);
      for (const [, i] of x.overflowDunders ?? []) todo.push(i);
    } else if (x instanceof PyPartial || x instanceof PyOperator) {
      if ((WALKED.get(x) ?? 0) >= level) continue;
      WALKED.set(x, level);
      if (x instanceof PyPartial) {
        todo.push(x.func);
        pushAll(todo, x.args);
      } else pushAll(todo, x.items);
    }
  }
}

/**
 * Records that a value was changed, or may have been, in a way the machine does not model: a list,
 * a bytearray or an object (a numpy array ...) that later computations (`bytes(x)`) must not read
 * as it was built. Immutable values (bytes, str, numbers) are left alone.
 * @param v - any value
 */
export function markMutated(v: Value | undefined): void {
  if (v instanceof PySeq || v instanceof PyCall) v.mutated = true;
  else if (v instanceof PyBytes && v.mutable) v.mutated = true;
}

/**
 * Whether what a value holds may differ from what the machine recorded: it was marked by
 * {@link markMutated}, or (a list, set or dict) its items escaped or were dropped out of sight
 * (a later change through an alias the machine cannot follow is not seen).
 * @param v - any value
 */
export function isMutated(v: Value | undefined): boolean {
  if (v instanceof PySeq) return v.mutated || (v.kind !== "tuple" && v.kind !== "frozenset" && v.escaped !== 0);
  if (v instanceof PyBytes || v instanceof PyCall) return v.mutated;
  if (v instanceof PyDict) return v.escaped !== 0;
  return false;
}

/** Non-dunder attribute names the unpickler looks up on an instance (APPENDS, ADDITEMS). */
const OVERFLOW_HOOKS: ReadonlySet<string> = new Set(["extend", "append", "add"]);

/** Whether a dict key is a literal whose equality the machine knows (a str, a number, None ...). */
function isExactKey(k: Value, depth = 0): boolean {
  if (k instanceof PySeq) {
    return (
      k.kind === "tuple" && depth < 4 && k.count === k.items.length && k.items.every((x) => isExactKey(x, depth + 1))
    );
  }
  return (
    k === null ||
    typeof k !== "object" ||
    k instanceof PyStr ||
    k instanceof PyFloat ||
    (k instanceof PyBytes && k.data !== undefined)
  );
}

/** Whether every character of a string is ASCII. */
export function isAsciiText(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

/**
 * The int value of a literal int (bools count as ints, as in Python).
 * @param v - any value
 */
export function intOf(v: Value | undefined): number | undefined {
  if (typeof v === "number") return Number.isInteger(v) ? v : undefined;
  if (typeof v === "boolean") return v ? 1 : 0;
  if (typeof v === "bigint" && v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER)) {
    return Number(v);
  }
  return undefined;
}

/**
 * Items of a tuple/list value (kept ones), else undefined.
 * @param v - any value
 */
export function seqItems(v: Value | undefined): readonly Value[] | undefined {
  return v instanceof PySeq ? v.items : undefined;
}

/**
 * Whether the value is a literal (no global, call or unknown anywhere inside the kept parts).
 * @param v - any value
 * @param depth - recursion guard
 */
export function isLiteral(v: Value, depth = 0): boolean {
  if (v === null || typeof v !== "object") return true;
  if (v instanceof PyStr || v instanceof PyFloat || v instanceof PyBytes || v instanceof PyLargeStr) return true;
  if (depth > 8) return false;
  if (v instanceof PySeq) return v.items.every((x) => isLiteral(x, depth + 1));
  if (v instanceof PyDict) {
    return v.keys.every((x) => isLiteral(x, depth + 1)) && v.values.every((x) => isLiteral(x, depth + 1));
  }
  return false;
}

const PREVIEW_MAX = 240;

/**
 * A short Python-like rendering of a value, for evidence.
 * @param v - any value
 * @param max - maximum length
 */
export function preview(v: Value | undefined, max = PREVIEW_MAX): string {
  const out = { s: "" };
  render(v, out, 0, max);
  return out.s.length > max ? `${out.s.slice(0, max - 1)}…` : out.s;
}

function pyRepr(s: string, limit: number): string {
  const clipped = s.length > limit ? `${s.slice(0, limit)}` : s;
  const body = clipped
    .replace(/\\/g, "\\\\")
    .replace(/'/g, "\\'")
    .replace(/\n/g, "\\n")
    .replace(/\r/g, "\\r")
    .replace(/\t/g, "\\t")
    // biome-ignore lint/suspicious/noControlCharactersInRegex: escaping control characters for display
    .replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
  return `'${body}${s.length > limit ? "…" : ""}'`;
}

function bytesRepr(b: Uint8Array, total: number, limit: number): string {
  let s = "b'";
  const n = Math.min(b.length, limit);
  for (let i = 0; i < n; i++) {
    const c = b[i] as number;
    if (c === 0x5c) s += "\\\\";
    else if (c === 0x27) s += "\\'";
    else if (c >= 0x20 && c < 0x7f) s += String.fromCharCode(c);
    else if (c === 0x0a) s += "\\n";
    else s += `\\x${c.toString(16).padStart(2, "0")}`;
  }
  return `${s}${total > n ? "…" : ""}'`;
}

function render(v: Value | undefined, out: { s: string }, depth: number, max: number): void {
  if (out.s.length > max) return;
  if (v === undefined) {
    out.s += "?";
    return;
  }
  if (v === null) {
    out.s += "None";
    return;
  }
  switch (typeof v) {
    case "boolean":
      out.s += v ? "True" : "False";
      return;
    case "number":
      out.s += Number.isFinite(v) ? String(v) : Number.isNaN(v) ? "nan" : v > 0 ? "inf" : "-inf";
      return;
    case "bigint":
      out.s += String(v);
      return;
    case "string":
      out.s += pyRepr(v, max);
      return;
  }
  if (v instanceof PyStr) out.s += pyRepr(v.value, max);
  else if (v instanceof PyLargeStr)
    out.s += `${pyRepr(latin1(v.blob.head, 0, v.blob.head.length), 40)} (${v.blob.length} bytes)`;
  else if (v instanceof PyFloat) out.s += Number.isInteger(v.value) ? v.value.toFixed(1) : String(v.value);
  else if (v instanceof PyBytes) {
    const prefix = v.mutable ? "bytearray(" : "";
    if (v.data !== undefined) out.s += prefix + bytesRepr(v.data, v.data.length, Math.min(max, 80));
    else if (v.blob !== undefined) {
      out.s += `${prefix}${bytesRepr(v.blob.head, v.blob.length, 24)} (${v.blob.length} bytes${v.transforms.length > 0 ? `, then ${v.transforms.join(", ")}` : ""})`;
    }
    if (v.mutable) out.s += ")";
  } else if (v instanceof PySeq) {
    if (v instanceof PyElidedSeq) {
      out.s += v.kind === "tuple" ? "(<tuple not kept by the memo>)" : "[<list not kept by the memo>]";
      return;
    }
    const [open, close] =
      v.kind === "tuple"
        ? ["(", ")"]
        : v.kind === "list"
          ? ["[", "]"]
          : v.kind === "set"
            ? ["{", "}"]
            : ["frozenset({", "})"];
    if (v.kind === "set" && v.count === 0) {
      out.s += "set()";
      return;
    }
    out.s += open;
    if (depth > 4) out.s += "…";
    else
      v.items.forEach((item, i) => {
        if (i > 0) out.s += ", ";
        render(item, out, depth + 1, max);
      });
    if (v.count > v.items.length) out.s += `, …+${v.count - v.items.length}`;
    if (v.kind === "tuple" && v.count === 1) out.s += ",";
    out.s += close;
  } else if (v instanceof PyDict) {
    out.s += "{";
    if (depth > 4) out.s += "…";
    else
      v.keys.forEach((k, i) => {
        if (i > 0) out.s += ", ";
        render(k, out, depth + 1, max);
        out.s += ": ";
        render(v.values[i], out, depth + 1, max);
      });
    if (v.count > v.keys.length) out.s += `, …+${v.count - v.keys.length}`;
    out.s += "}";
  } else if (v instanceof PyRef) out.s += v.name;
  else if (v instanceof PyCall) {
    out.s += `${v.calleeName ?? "<dynamic>"}(`;
    if (depth <= 3) renderArgs(v.args, out, depth + 1, max);
    else out.s += "…";
    out.s += ")";
  } else if (v instanceof PyPersistent) {
    out.s += "persistent_load(";
    render(v.pid, out, depth + 1, max);
    out.s += ")";
  } else if (v instanceof PyPartial) {
    out.s += "functools.partial(";
    render(v.func, out, depth + 1, max);
    for (const a of v.args) {
      out.s += ", ";
      render(a, out, depth + 1, max);
    }
    out.s += ")";
  } else if (v instanceof PyOperator) {
    out.s += `operator.${v.kind}(`;
    v.items.forEach((a, i) => {
      if (i > 0) out.s += ", ";
      render(a, out, depth + 1, max);
    });
    out.s += ")";
  } else if (v instanceof PyNamespace) out.s += v.modules ? "sys.modules" : `vars(${v.of})`;
  else if (v instanceof PyCode) out.s += `<code via ${v.how}>`;
  else if (v instanceof PyBuffer) out.s += v.readonly ? "<readonly buffer>" : "<buffer>";
  else if (v instanceof PyUnknown) out.s += `<${v.why}>`;
}

function renderArgs(args: Value, out: { s: string }, depth: number, max: number): void {
  if (args instanceof PySeq && args.kind === "tuple" && !(args instanceof PyElidedSeq)) {
    args.items.forEach((item, i) => {
      if (i > 0) out.s += ", ";
      render(item, out, depth, max);
    });
    if (args.count > args.items.length) out.s += `, …+${args.count - args.items.length}`;
  } else {
    out.s += "*";
    render(args, out, depth, max);
  }
}

/**
 * Preview of call arguments without the surrounding parentheses of the tuple.
 * @param args - the args tuple
 * @param kwargs - keyword arguments, if any
 */
export function previewArgs(args: Value, kwargs?: Value): string {
  const out = { s: "" };
  renderArgs(args, out, 0, PREVIEW_MAX);
  if (kwargs instanceof PyDict && kwargs.count > 0) {
    kwargs.keys.forEach((k, i) => {
      out.s += `${out.s.length > 0 || i > 0 ? ", " : ""}${strOf(k) ?? "?"}=`;
      render(kwargs.values[i], out, 1, PREVIEW_MAX);
    });
  } else if (kwargs !== undefined && !(kwargs instanceof PyDict)) {
    out.s += ", **";
    render(kwargs, out, 1, PREVIEW_MAX);
  }
  return out.s.length > PREVIEW_MAX ? `${out.s.slice(0, PREVIEW_MAX - 1)}…` : out.s;
}
