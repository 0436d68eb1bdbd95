/**
 * The three encodings of R's serialization streams (R Internals, "Serialization Formats"): XDR
 * (`X\n`, big-endian), native binary (`B\n`, little-endian on every platform R runs on today) and
 * ASCII (`A\n`, whitespace-separated words, strings with C escapes). {@link RInput} reads integers,
 * strings and skips vector payloads over a {@link ByteSource} with a small forward buffer, so a
 * multi-GB numeric vector is stepped over without being read.
 * @module
 */
import { charCodes } from "../../core/arrays.js";
import { type ByteSource, readClamped } from "../../core/byte-source.js";
import { ModelgateError } from "../../core/errors.js";

import { type RStreamFormat, scanInt } from "./ints.js";

export { NA_INTEGER, type RStreamFormat, scanInt } from "./ints.js";

const CHUNK = 64 * 1024;

/**
 * Rd markup that runs R code when the text is rendered: `\Sexpr{...}` (a `bibentry`'s fields are
 * rendered through `tools::processRdSexprs` when it is printed) and the macro definitions that
 * could assemble it. Matched on every byte of every string, not only the bytes the walk keeps.
 */
const RD_CODE: readonly string[] = ["\\Sexpr", "\\newcommand", "\\renewcommand"];
const RD_LONGEST = Math.max(...RD_CODE.map((m) => m.length)); // bounded: a constant table
/** Offsets of strings with Rd code kept for the report. */
const RD_OFFSETS = 16;

/** Whether bytes hold a `(` after a `"` (or any `(` when a `"` came before them). */
function quoteThenParen(bytes: Uint8Array, quoted: boolean): boolean {
  const q = quoted ? 0 : bytes.indexOf(0x22);
  return q >= 0 && bytes.indexOf(0x28, q) >= 0;
}

/** Whether bytes (latin1-decoded, ASCII-compatible as every R string encoding is) hold Rd code. */
function hasRdCode(text: string): boolean {
  return text.includes("\\") && RD_CODE.some((m) => text.includes(m));
}
/** R reads ASCII numbers into a 128-byte buffer and fails on longer words. */
const MAX_WORD = 127;

const isSpace = (c: number): boolean => c === 0x20 || (c >= 0x09 && c <= 0x0d);

/** Bytes each vector element takes at least, by element kind. */
const WIDTH = { int: 4, real: 8, complex: 16, raw: 1 } as const;

/** Forward reader of one serialization stream. */
export class RInput {
  readonly #source: ByteSource;
  readonly format: RStreamFormat;
  #buf: Uint8Array = new Uint8Array(0);
  /** Absolute offset of `#buf[0]`. */
  #base: number;
  #pos = 0;
  /** Offsets of strings holding Rd code that runs R ({@link RD_CODE}), the first few. */
  readonly rdCode: number[] = [];
  /** How many strings hold Rd code. */
  rdCodeCount = 0;
  /**
   * Offset of the first string holding a `(` after a `"`, and how many: text a `bibentry` field
   * may hold to break out of the R string a system Rd macro builds (`\\doi{#1}` expands to
   * `\\Sexpr{tools:::Rd_expr_doi("#1")}`), so `doi = 'x"); system("id"); ("'` runs when printed.
   */
  quotedCall: number | undefined;
  quotedCallCount = 0;
  /** A string is exactly `bibentry` (the class of `bibentry()` and `citation()` objects). */
  bibentry = false;
  /** Called every so many skipped ASCII words (abort and time budget). */
  readonly #checkpoint: () => void;

  /**
   * @param source - the bytes
   * @param offset - where the stream's first integer (after the format line) starts
   * @param format - its encoding
   * @param checkpoint - abort/time check for long ASCII skips
   */
  constructor(source: ByteSource, offset: number, format: RStreamFormat, checkpoint: () => void = () => {}) {
    this.#source = source;
    this.#base = offset;
    this.format = format;
    this.#checkpoint = checkpoint;
  }

  /** Total size of the source. */
  get size(): number {
    return this.#source.size;
  }

  /** Absolute offset of the next unread byte. */
  get offset(): number {
    return this.#base + this.#pos;
  }

  /** Bytes left after {@link RInput.offset}. */
  get remaining(): number {
    return this.#source.size - this.offset;
  }

  /** The smallest number of bytes one integer (or one item) can take in this encoding. */
  get minItemBytes(): number {
    return this.format === "ascii" ? 2 : 4;
  }

  #truncated(what: string): ModelgateError {
    return new ModelgateError("TRUNCATED", `R stream ends inside ${what}`, { offset: this.offset });
  }

  /** Makes `n` bytes available at `#pos`; throws TRUNCATED when the source ends first. */
  async #ensure(n: number, what: string): Promise<void> {
    if (this.#buf.length - this.#pos >= n) return;
    if (n > this.remaining) throw this.#truncated(what);
    const start = this.offset;
    const bytes = await readClamped(this.#source, start, Math.max(n, CHUNK));
    if (bytes.length < n) throw this.#truncated(what);
    this.#buf = bytes;
    this.#base = start;
    this.#pos = 0;
  }

  #noteRd(offset: number): void {
    this.rdCodeCount++;
    if (this.rdCode.length < RD_OFFSETS) this.rdCode.push(offset);
  }

  /** Notes what a whole string's bytes say: a `"` with a `(`, the word `bibentry`. */
  #noteText(offset: number, quotedCall: boolean, length: number, head: Uint8Array): void {
    if (quotedCall) {
      this.quotedCallCount++;
      this.quotedCall ??= offset;
    }
    if (length === 8 && Buffer.from(head.buffer, head.byteOffset, head.length).toString("latin1") === "bibentry")
      this.bibentry = true;
  }

  /** Scans bytes of a binary string for Rd code, carrying the tail of the previous chunk. */
  #scanRd(bytes: Uint8Array, carry: string): string {
    const text = carry + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("latin1");
    if (hasRdCode(text)) return "\0";
    return text.slice(-(RD_LONGEST - 1));
  }

  /** Next byte, or -1 at the end of the source. */
  async #byte(): Promise<number> {
    if (this.#pos >= this.#buf.length) {
      if (this.remaining <= 0) return -1;
      await this.#ensure(1, "a word");
    }
    return this.#buf[this.#pos++]!;
  }

  /** One ASCII word (R's InWord): leading whitespace skipped, the whitespace after it consumed. */
  async word(what: string): Promise<string> {
    // leading whitespace, scanned within the buffer and refilled as needed
    for (;;) {
      if (this.#pos >= this.#buf.length) {
        if (this.remaining <= 0) throw this.#truncated(what);
        await this.#ensure(1, what);
      }
      const b = this.#buf;
      let p = this.#pos;
      while (p < b.length && isSpace(b[p]!)) p++;
      this.#pos = p;
      if (p < b.length) break;
    }
    let out = "";
    for (;;) {
      const b = this.#buf;
      const from = this.#pos;
      let p = from;
      while (p < b.length && !isSpace(b[p]!) && out.length + (p - from) <= MAX_WORD) p++;
      out += charCodes(b.subarray(from, p));
      if (out.length > MAX_WORD)
        throw new ModelgateError("MALFORMED", `R ASCII word too long in ${what}`, { offset: this.offset });
      this.#pos = p;
      if (p < b.length) {
        this.#pos++; // the whitespace that ends the word
        return out;
      }
      if (this.remaining <= 0) return out; // the word ends the input
      await this.#ensure(1, what);
    }
  }

  /** One integer (R's InInteger). */
  async int(what = "an integer"): Promise<number> {
    if (this.format === "ascii") {
      const word = await this.word(what);
      const value = scanInt(word);
      if (value === undefined) {
        throw new ModelgateError("MALFORMED", `R ASCII stream: ${JSON.stringify(word)} is not an integer (${what})`, {
          offset: this.offset,
        });
      }
      return value;
    }
    await this.#ensure(4, what);
    const b = this.#buf;
    const p = this.#pos;
    this.#pos += 4;
    return this.format === "xdr"
      ? (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!
      : b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24);
  }

  /** One double, for previews of length-1 vectors. */
  async real(): Promise<number> {
    if (this.format === "ascii") {
      const word = await this.word("a double");
      if (word === "NA") return Number.NaN;
      if (word === "Inf") return Number.POSITIVE_INFINITY;
      if (word === "-Inf") return Number.NEGATIVE_INFINITY;
      return Number.parseFloat(word);
    }
    await this.#ensure(8, "a double");
    const view = new DataView(this.#buf.buffer, this.#buf.byteOffset + this.#pos, 8);
    this.#pos += 8;
    return view.getFloat64(0, this.format === "binary");
  }

  /**
   * `count` integers of a vector (at most a few hundred thousand: the caller caps them), read
   * from the buffer at once in the binary encodings.
   */
  async ints(count: number): Promise<Int32Array> {
    const out = new Int32Array(count);
    if (this.format === "ascii") {
      for (let i = 0; i < count; i++) {
        if ((i & 0xfff) === 0xfff) this.#checkpoint();
        out[i] = await this.int("a vector element");
      }
      return out;
    }
    await this.#ensure(count * 4, `a vector of ${count} integers`);
    const view = new DataView(this.#buf.buffer, this.#buf.byteOffset + this.#pos, count * 4);
    const little = this.format === "binary";
    for (let i = 0; i < count; i++) out[i] = view.getInt32(i * 4, little);
    this.#pos += count * 4;
    return out;
  }

  /**
   * One double as a canonical key (its IEEE bits, big-endian hex, whatever the encoding) and its
   * value, for fingerprints of code. ASCII streams write `NA`, `NaN`, `Inf`, `-Inf` or a decimal.
   */
  async realKey(): Promise<{ readonly key: string; readonly value: number }> {
    const bits = new DataView(new ArrayBuffer(8));
    if (this.format === "ascii") {
      const word = await this.word("a double");
      if (word === "NA") {
        bits.setUint32(0, 0x7ff00000);
        bits.setUint32(4, 1954);
      } else bits.setFloat64(0, word === "Inf" ? Infinity : word === "-Inf" ? -Infinity : Number.parseFloat(word));
    } else {
      await this.#ensure(8, "a double");
      for (let i = 0; i < 8; i++) bits.setUint8(i, this.#buf[this.#pos + (this.format === "xdr" ? i : 7 - i)]!);
      this.#pos += 8;
    }
    const hex = [0, 4].map((o) => bits.getUint32(o).toString(16).padStart(8, "0")).join("");
    return { key: `d${hex}`, value: bits.getFloat64(0) };
  }

  /**
   * Fast path for the strings of a character vector in a binary stream: when a whole CHARSXP
   * without attributes is in the buffer, consumes it and returns its flags and first `keep` bytes
   * (null for NA). Returns undefined, consuming nothing, whenever the general reader must decide.
   */
  charSync(
    keep: number,
  ): { readonly flags: number; readonly bytes: Uint8Array | null; readonly truncated?: boolean } | undefined {
    if (this.format === "ascii") return undefined;
    const b = this.#buf;
    const p = this.#pos;
    if (b.length - p < 8) return undefined;
    const xdr = this.format === "xdr";
    const at = (q: number): number =>
      xdr
        ? (b[q]! << 24) | (b[q + 1]! << 16) | (b[q + 2]! << 8) | b[q + 3]!
        : b[q]! | (b[q + 1]! << 8) | (b[q + 2]! << 16) | (b[q + 3]! << 24);
    const flags = at(p);
    if ((flags & 0xff) !== 9 || (flags & (1 << 9)) !== 0) return undefined;
    const len = at(p + 4);
    if (len === -1) {
      this.#pos += 8;
      return { flags, bytes: null };
    }
    if (len < 0 || b.length - p - 8 < len) return undefined;
    const body = b.subarray(p + 8, p + 8 + len);
    if (body.includes(0x5c) && this.#scanRd(body, "") === "\0") this.#noteRd(this.#base + p);
    this.#noteText(this.#base + p, quoteThenParen(body, false), len, body);
    this.#pos += 8 + len;
    return { flags, bytes: b.subarray(p + 8, p + 8 + Math.min(len, keep)), truncated: len > keep };
  }

  /** Steps over `n` bytes of a binary stream. */
  async #skipBytes(n: number, what: string): Promise<void> {
    if (n > this.remaining) throw this.#truncated(what);
    const inBuf = this.#buf.length - this.#pos;
    if (n <= inBuf) {
      this.#pos += n;
      return;
    }
    this.#base = this.offset + n;
    this.#buf = new Uint8Array(0);
    this.#pos = 0;
  }

  /**
   * Steps over `count` vector elements without keeping them. The length was checked against the
   * remaining bytes by the caller; ASCII elements are read word by word.
   */
  async skipElements(kind: keyof typeof WIDTH, count: number): Promise<void> {
    if (this.format !== "ascii") {
      await this.#skipBytes(count * WIDTH[kind], `a vector of ${count} elements`);
      return;
    }
    const words = kind === "complex" ? count * 2 : count;
    for (let i = 0; i < words; i++) {
      if ((i & 0xfff) === 0xfff) this.#checkpoint();
      await this.word("a vector element");
    }
  }

  /** Whether `count` elements of this kind can still fit in the stream. */
  fits(kind: keyof typeof WIDTH, count: number): boolean {
    const width = this.format === "ascii" ? (kind === "complex" ? 4 : 2) : WIDTH[kind];
    return count * width <= this.remaining;
  }

  /**
   * A string of `length` bytes (R's InString): the first `keep` bytes are returned, the rest
   * skipped. ASCII strings are unescaped as R does.
   */
  async string(length: number, keep: number): Promise<Uint8Array> {
    if (length > this.remaining) throw this.#truncated(`a string of ${length} bytes`);
    const kept = Math.min(length, keep);
    const start = this.offset;
    if (this.format !== "ascii") {
      await this.#ensure(kept, "a string");
      const out = this.#buf.slice(this.#pos, this.#pos + kept);
      // every byte is scanned for Rd code, the skipped ones chunk by chunk
      let carry = this.#scanRd(out, "");
      let quote = out.includes(0x22);
      let quotedCall = quoteThenParen(out, false);
      this.#pos += kept;
      let left = length - kept;
      while (left > 0 && carry !== "\0") {
        this.#checkpoint();
        const n = Math.min(left, CHUNK);
        await this.#ensure(n, "a string");
        const chunk = this.#buf.subarray(this.#pos, this.#pos + n);
        carry = this.#scanRd(chunk, carry);
        quotedCall ||= quoteThenParen(chunk, quote);
        quote ||= chunk.includes(0x22);
        this.#pos += n;
        left -= n;
      }
      if (carry === "\0") this.#noteRd(start);
      this.#noteText(start, quotedCall, length, out);
      await this.#skipBytes(left, "a string");
      return out;
    }
    // ASCII: the unescaped bytes from each backslash on are matched against the markup
    let tail = "";
    let rd = false;
    let quote = false;
    let paren = false;
    const seeRd = (byte: number): void => {
      if (byte === 0x22) quote = true;
      else if (byte === 0x28 && quote) paren = true;
      if (byte === 0x5c) tail = "\\";
      else if (tail !== "") {
        tail += String.fromCharCode(byte);
        if (RD_CODE.includes(tail)) rd = true;
        if (tail.length >= RD_LONGEST) tail = "";
      }
    };
    const out = new Uint8Array(kept);
    if (length === 0) return out;
    let c = await this.#byte();
    while (c !== -1 && isSpace(c)) c = await this.#byte();
    if (c !== -1) this.#pos--; // unget: the string starts here
    for (let i = 0; i < length; ) {
      // plain characters straight from the buffer
      const b = this.#buf;
      let p = this.#pos;
      while (i < length && p < b.length && b[p] !== 0x5c) {
        seeRd(b[p]!);
        if (i < kept) out[i] = b[p]!;
        i++;
        p++;
      }
      this.#pos = p;
      if (i >= length) break;
      this.#checkpoint();
      c = await this.#byte(); // a refill, or an escape
      if (c === -1) throw this.#truncated("a string");
      let value = c;
      if (c === 0x5c) {
        c = await this.#byte();
        if (c === -1) throw this.#truncated("a string escape");
        if (c >= 0x30 && c <= 0x37) {
          let d = 0;
          for (let j = 0; j < 3 && c >= 0x30 && c <= 0x37; j++) {
            d = d * 8 + (c - 0x30);
            c = await this.#byte();
          }
          if (c !== -1) this.#pos--; // unget the character after the octal digits
          value = d & 0xff;
        } else value = ESCAPES.get(c) ?? c;
      }
      seeRd(value);
      if (i < kept) out[i] = value;
      i++;
    }
    if (rd) this.#noteRd(start);
    this.#noteText(start, paren, length, out);
    return out;
  }
}

const ESCAPES: ReadonlyMap<number, number> = new Map([
  [0x6e, 0x0a], // n
  [0x74, 0x09], // t
  [0x76, 0x0b], // v
  [0x62, 0x08], // b
  [0x72, 0x0d], // r
  [0x66, 0x0c], // f
  [0x61, 0x07], // a
]);
