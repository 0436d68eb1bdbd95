/**
 * LZMA decoders written for modelgate from the format's published description (range coder,
 * literal/match/rep coding, 12-state machine) and the LZMA2 chunk layout of the xz/7z formats:
 *
 * - {@link createUnLzma}: LZMA-alone (`.lzma`, Python's `lzma.FORMAT_ALONE`, joblib's `lzma`
 *   compressor) as a Transform stream (13-byte header, then raw LZMA).
 * - {@link RawLzmaDecoder}: raw LZMA with its properties given apart (the 5 property bytes of a 7z
 *   coder) and an optional known size.
 * - {@link Lzma2Decoder}: LZMA2 (a 7z coder; chunked LZMA with dictionary/state resets, new
 *   properties and stored chunks).
 * - {@link createZipLzma}: a zip member of method 14 read as Python's `zipfile` reads it (numpy's
 *   `np.load`): no size limit, an optional end marker, the output cut at the declared size.
 *
 * Why in-house: the npm LZMA1 decoders decode whole buffers with no way to cap their output, and
 * `xz-decompress` (xz-embedded in WebAssembly) lacked SHA-256 checks and most xz filters; xz
 * streams are read by `./xz.ts` with {@link Lzma2Decoder}.
 *
 * The raw decoders are synchronous and pull-based: input is pushed, output is pulled a bounded
 * amount at a time, so a caller checks its budgets between pulls and a bomb never gets to
 * produce more than one pull's worth before it is stopped.
 *
 * Streaming: the decoder only decodes a symbol while at least {@link INPUT_MARGIN} unread input
 * bytes are buffered (no symbol needs more), so it never has to suspend mid-symbol; at the end of
 * input it finishes with what remains. The dictionary window grows with the output up to the
 * declared dictionary size (or the declared output size, when smaller), so a hostile header cannot
 * make it allocate gigabytes up front.
 * @module
 */
import type { Duplex } from "node:stream";
import { concatBytes } from "../../core/byte-source.js";
import { ModelgateError } from "../../core/errors.js";
import { PacedTransform } from "./paced.js";

/** Bytes of buffered input that cover any single symbol. */
const INPUT_MARGIN = 64;
const OUTPUT_CHUNK = 64 * 1024;
/** Largest dictionary modelgate will hold (xz/lzma presets use at most 64 MiB). */
export const MAX_LZMA_DICTIONARY = 256 * 1024 * 1024;

const PROB_INIT = 1024;
const NUM_STATES = 12;
const POS_BITS_MAX = 4;
const END_POS_MODEL_INDEX = 14;
const NUM_FULL_DISTANCES = 128;
const NUM_ALIGN_BITS = 4;
const LEN_STATES = 4;

function malformed(message: string, label = "lzma"): ModelgateError {
  return new ModelgateError("MALFORMED", `${label}: ${message}`);
}

/** LZMA model parameters and dictionary size. */
export interface LzmaProperties {
  /** Literal context bits (0–8). */
  readonly lc: number;
  /** Literal position bits (0–4). */
  readonly lp: number;
  /** Position bits (0–4). */
  readonly pb: number;
  /** Dictionary size in bytes. */
  readonly dictSize: number;
}

/**
 * Splits the LZMA properties byte (`(pb * 5 + lp) * 9 + lc`).
 * @param d - the byte
 */
export function decodeLzmaPropertiesByte(d: number): { lc: number; lp: number; pb: number } {
  if (!Number.isInteger(d) || d < 0 || d >= 9 * 5 * 5) throw malformed("invalid properties byte");
  const lc = d % 9;
  const rest = Math.floor(d / 9);
  return { lc, lp: rest % 5, pb: Math.floor(rest / 5) };
}

/**
 * Parses the 5 property bytes of an LZMA coder (7z, LZMA-alone): the properties byte and a
 * little-endian 32-bit dictionary size.
 * @param props - the property bytes (at least 5)
 */
export function parseLzmaProperties(props: Uint8Array): LzmaProperties {
  if (props.length < 5) throw malformed(`${props.length} property bytes, 5 needed`);
  const { lc, lp, pb } = decodeLzmaPropertiesByte(props[0] as number);
  const dictSize = Math.max(
    4096,
    ((props[1] as number) |
      ((props[2] as number) << 8) |
      ((props[3] as number) << 16) |
      ((props[4] as number) << 24)) >>>
      0,
  );
  return { lc, lp, pb, dictSize };
}

/**
 * The dictionary size an LZMA2 properties byte declares (0–40).
 * @param prop - the byte
 */
export function lzma2DictionarySize(prop: number): number {
  if (!Number.isInteger(prop) || prop < 0 || prop > 40) throw malformed("invalid dictionary size byte", "lzma2");
  if (prop === 40) return 0xffffffff;
  return (2 | (prop & 1)) * 2 ** (Math.floor(prop / 2) + 11);
}

/** Parsed 13-byte LZMA-alone header. */
interface LzmaHeader extends LzmaProperties {
  /** Declared uncompressed size, or -1 when unknown (an end marker is then mandatory). */
  unpackSize: number;
}

function parseHeader(h: Uint8Array): LzmaHeader {
  const props = parseLzmaProperties(h);
  let unknown = true;
  let unpackSize = 0;
  for (let i = 12; i >= 5; i--) {
    if (h[i] !== 0xff) unknown = false;
    unpackSize = unpackSize * 256 + (h[i] as number);
  }
  return { ...props, unpackSize: unknown ? -1 : unpackSize };
}

/**
 * The window to allocate at most: the dictionary, or the output when it is known to be smaller.
 * Throws `BUDGET_EXCEEDED` when neither fits under {@link MAX_LZMA_DICTIONARY}.
 */
function windowCapacity(dictSize: number, unpackSize: number, maxDictionary: number, label: string): number {
  const known = unpackSize >= 0;
  const cap = known ? Math.min(dictSize, Math.max(1, unpackSize)) : dictSize;
  if (cap > maxDictionary) {
    throw new ModelgateError("BUDGET_EXCEEDED", `${label}: dictionary of ${dictSize} bytes is over the limit`, {
      budget: "maxLzmaDictionary",
    });
  }
  return Math.max(1, cap);
}

const probs = (n: number): Uint16Array => new Uint16Array(n).fill(PROB_INIT);

/** The decoder proper; input is pulled from `buf` at `inPos`. */
class LzmaState {
  // properties
  lc: number;
  lp: number;
  pb: number;
  readonly dictSize: number;
  readonly label: string;
  // range decoder
  /**
   * The range coder's `range` and `code`, as int32 bit patterns of the unsigned values (compared
   * with the sign bit flipped). A typed array keeps them unboxed: as object fields, values past
   * 2^30 live in heap numbers (measured: this form decodes about 1.5× faster).
   */
  readonly rc = new Int32Array(2);
  buf: Uint8Array = new Uint8Array(0);
  inPos = 0;
  // window
  win: Uint8Array;
  readonly winCap: number;
  pos = 0;
  /** Bytes decoded since the last dictionary reset (match distances must stay within them). */
  totalPos = 0;
  flushFrom = 0;
  // model
  literal: Uint16Array;
  readonly isMatch = probs(NUM_STATES << POS_BITS_MAX);
  readonly isRep = probs(NUM_STATES);
  readonly isRepG0 = probs(NUM_STATES);
  readonly isRepG1 = probs(NUM_STATES);
  readonly isRepG2 = probs(NUM_STATES);
  readonly isRep0Long = probs(NUM_STATES << POS_BITS_MAX);
  readonly posSlot = probs(LEN_STATES << 6);
  readonly posDecoders = probs(1 + NUM_FULL_DISTANCES - END_POS_MODEL_INDEX);
  readonly align = probs(1 << NUM_ALIGN_BITS);
  readonly lenCoder = new LenCoder();
  readonly repLenCoder = new LenCoder();
  state = 0;
  rep0 = 0;
  rep1 = 0;
  rep2 = 0;
  rep3 = 0;
  /** Bytes still to decode, or -1 when unknown. */
  remaining: number;
  /** Whether an end marker may end the data (LZMA1); LZMA2 chunks end at their size. */
  endMarkerAllowed = true;
  finished = false;

  /**
   * @param props - model parameters and dictionary size
   * @param unpackSize - declared output, -1 when unknown
   * @param winCap - the most window to allocate (see {@link windowCapacity})
   * @param label - what to call the stream in errors
   */
  constructor(props: LzmaProperties, unpackSize: number, winCap: number, label: string) {
    this.lc = props.lc;
    this.lp = props.lp;
    this.pb = props.pb;
    this.dictSize = props.dictSize;
    this.label = label;
    this.literal = probs(0x300 << (props.lc + props.lp));
    this.winCap = winCap;
    this.win = new Uint8Array(Math.min(this.winCap, 1 << 20));
    this.remaining = unpackSize;
  }

  /** New literal/position parameters (LZMA2); the state must be reset with them. */
  setProperties(lc: number, lp: number, pb: number): void {
    if (lc + lp !== this.lc + this.lp) this.literal = new Uint16Array(0x300 << (lc + lp));
    this.lc = lc;
    this.lp = lp;
    this.pb = pb;
  }

  /** Resets probabilities, the state machine and the repeat distances. */
  resetState(): void {
    for (const p of [
      this.literal,
      this.isMatch,
      this.isRep,
      this.isRepG0,
      this.isRepG1,
      this.isRepG2,
      this.isRep0Long,
      this.posSlot,
      this.posDecoders,
      this.align,
    ]) {
      p.fill(PROB_INIT);
    }
    this.lenCoder.reset();
    this.repLenCoder.reset();
    this.state = 0;
    this.rep0 = 0;
    this.rep1 = 0;
    this.rep2 = 0;
    this.rep3 = 0;
  }

  /** Forgets the dictionary: later matches may not reach before this point. */
  resetDictionary(): void {
    this.totalPos = 0;
  }

  nextByte(): number {
    if (this.inPos >= this.buf.length) throw malformed("stream is truncated", this.label);
    return this.buf[this.inPos++] as number;
  }

  /** Appends input after what is left unread; returns how many read bytes were dropped. */
  append(chunk: Uint8Array): number {
    const dropped = this.inPos;
    this.buf = concatBytes(this.buf.subarray(dropped), chunk);
    this.inPos = 0;
    return dropped;
  }

  initRange(): void {
    const rc = this.rc;
    rc[0] = -1; // 0xffffffff
    if (this.nextByte() !== 0) throw malformed("bad range coder start", this.label);
    let code = 0;
    for (let i = 0; i < 4; i++) code = (code << 8) | this.nextByte();
    rc[1] = code;
    if (rc[1] === rc[0]) throw malformed("corrupt range coder state", this.label);
  }

  bit(p: Uint16Array, i: number): number {
    const rc = this.rc;
    const prob = p[i] as number;
    let range = rc[0] as number;
    let code = rc[1] as number;
    const bound = Math.imul(range >>> 11, prob);
    let bit: number;
    if ((code ^ 0x80000000) < (bound ^ 0x80000000)) {
      p[i] = prob + ((2048 - prob) >>> 5);
      range = bound;
      bit = 0;
    } else {
      p[i] = prob - (prob >>> 5);
      code = (code - bound) | 0;
      range = (range - bound) | 0;
      bit = 1;
    }
    if (range >>> 24 === 0) {
      range <<= 8;
      code = (code << 8) | this.nextByte();
    }
    rc[0] = range;
    rc[1] = code;
    return bit;
  }

  /**
   * Decodes the remaining bits of a plain literal (the hottest loop on text): the same bit
   * decoding as {@link LzmaState.bit}, with the range coder held in locals.
   */
  literalTail(base: number, start: number): number {
    const p = this.literal;
    const buf = this.buf;
    const rc = this.rc;
    let range = rc[0] as number;
    let code = rc[1] as number;
    let inPos = this.inPos;
    let symbol = start;
    do {
      const i = base + symbol;
      const prob = p[i] as number;
      const bound = Math.imul(range >>> 11, prob);
      if ((code ^ 0x80000000) < (bound ^ 0x80000000)) {
        p[i] = prob + ((2048 - prob) >>> 5);
        range = bound;
        symbol <<= 1;
      } else {
        p[i] = prob - (prob >>> 5);
        code = (code - bound) | 0;
        range = (range - bound) | 0;
        symbol = (symbol << 1) | 1;
      }
      if (range >>> 24 === 0) {
        if (inPos >= buf.length) {
          rc[0] = range;
          rc[1] = code;
          this.inPos = inPos;
          throw malformed("stream is truncated", this.label);
        }
        range <<= 8;
        code = (code << 8) | (buf[inPos++] as number);
      }
    } while (symbol < 0x100);
    rc[0] = range;
    rc[1] = code;
    this.inPos = inPos;
    return symbol;
  }

  direct(n: number): number {
    let result = 0;
    for (let i = 0; i < n; i++) {
      const rc = this.rc;
      const range = (rc[0] as number) >>> 1; // < 2^31: positive as int32
      let code = rc[1] as number;
      let bit = 1;
      if ((code ^ 0x80000000) >= (range ^ 0x80000000)) code = (code - range) | 0;
      else bit = 0;
      if (code === range) throw malformed("corrupt direct bits", this.label);
      rc[0] = range;
      rc[1] = code;
      if (range >>> 24 === 0) {
        rc[0] = range << 8;
        rc[1] = (code << 8) | this.nextByte();
      }
      result = ((result << 1) | bit) >>> 0;
    }
    return result;
  }

  tree(p: Uint16Array, base: number, numBits: number): number {
    let m = 1;
    for (let i = 0; i < numBits; i++) m = (m << 1) + this.bit(p, base + m);
    return m - (1 << numBits);
  }

  reverseTree(p: Uint16Array, base: number, numBits: number): number {
    let m = 1;
    let symbol = 0;
    for (let i = 0; i < numBits; i++) {
      const bit = this.bit(p, base + m);
      m = (m << 1) + bit;
      symbol |= bit << i;
    }
    return symbol;
  }

  /** Makes room for at least one more byte: grows the window, or emits it and wraps. */
  #room(): void {
    if (this.win.length < this.winCap) {
      const grown = new Uint8Array(Math.min(this.winCap, this.win.length * 2));
      grown.set(this.win);
      this.win = grown;
    } else {
      this.onOutput(this.win.subarray(this.flushFrom, this.pos));
      this.pos = 0;
      this.flushFrom = 0;
    }
  }

  putByte(b: number): void {
    if (this.pos === this.win.length) this.#room();
    this.win[this.pos++] = b;
    this.totalPos++;
  }

  /** Appends stored bytes (an LZMA2 uncompressed chunk). */
  putBytes(bytes: Uint8Array): void {
    let at = 0;
    while (at < bytes.length) {
      if (this.pos === this.win.length) this.#room();
      const n = Math.min(bytes.length - at, this.win.length - this.pos);
      this.win.set(bytes.subarray(at, at + n), this.pos);
      this.pos += n;
      this.totalPos += n;
      at += n;
    }
  }

  /** Copies `len` bytes from `dist` back (the hot loop of match decoding). */
  copyMatch(dist: number, len: number): void {
    while (this.pos + len > this.win.length && this.win.length < this.winCap) {
      const grown = new Uint8Array(Math.min(this.winCap, this.win.length * 2));
      grown.set(this.win);
      this.win = grown;
    }
    if (this.pos + len > this.win.length) {
      for (let i = 0; i < len; i++) this.putByte(this.getByte(dist));
      return;
    }
    const win = this.win;
    let src = this.pos - dist;
    if (src < 0) src += win.length;
    let dst = this.pos;
    for (let i = 0; i < len; i++) {
      win[dst++] = win[src++] as number;
      if (src === win.length) src = 0;
    }
    this.pos = dst;
    this.totalPos += len;
  }

  getByte(dist: number): number {
    const i = this.pos - dist;
    return this.win[i < 0 ? i + this.win.length : i] as number;
  }

  onOutput: (bytes: Uint8Array) => void = () => undefined;

  /** Emits everything produced since the last flush. */
  flush(): void {
    if (this.pos > this.flushFrom) this.onOutput(this.win.subarray(this.flushFrom, this.pos));
    this.flushFrom = this.pos;
  }

  /**
   * Decodes symbols while at least `margin` input bytes remain and fewer than `outLimit` bytes
   * were produced by this call; true once the data has ended.
   */
  run(margin: number, outLimit = Number.POSITIVE_INFINITY): boolean {
    const pbMask = (1 << this.pb) - 1;
    const lpMask = (1 << this.lp) - 1;
    const lc = this.lc;
    const stopAt = this.totalPos + outLimit;
    while (!this.finished && this.buf.length - this.inPos >= margin && this.totalPos < stopAt) {
      if (this.remaining === 0) {
        // Known size reached: an end marker may still follow; a clean finish has code 0.
        if (this.rc[1] === 0 || !this.endMarkerAllowed) {
          this.finished = true;
          break;
        }
      }
      const posState = this.totalPos & pbMask;
      const state = this.state;
      if (this.bit(this.isMatch, (state << POS_BITS_MAX) + posState) === 0) {
        if (this.remaining === 0) throw malformed("data after the declared size", this.label);
        const prev = this.totalPos === 0 ? 0 : this.getByte(1);
        const base = 0x300 * (((this.totalPos & lpMask) << lc) + (prev >>> (8 - lc)));
        let symbol = 1;
        if (state >= 7) {
          let matchByte = this.getByte(this.rep0 + 1);
          do {
            const matchBit = (matchByte >>> 7) & 1;
            matchByte <<= 1;
            const bit = this.bit(this.literal, base + ((1 + matchBit) << 8) + symbol);
            symbol = (symbol << 1) | bit;
            if (matchBit !== bit) break;
          } while (symbol < 0x100);
        }
        if (symbol < 0x100) symbol = this.literalTail(base, symbol);
        this.putByte(symbol - 0x100);
        this.state = state < 4 ? 0 : state < 10 ? state - 3 : state - 6;
        if (this.remaining > 0) this.remaining--;
        continue;
      }
      let len: number;
      if (this.bit(this.isRep, state) !== 0) {
        if (this.remaining === 0) throw malformed("data after the declared size", this.label);
        if (this.totalPos === 0) throw malformed("repeat match before any data", this.label);
        if (this.bit(this.isRepG0, state) === 0) {
          if (this.bit(this.isRep0Long, (state << POS_BITS_MAX) + posState) === 0) {
            this.state = state < 7 ? 9 : 11;
            this.putByte(this.getByte(this.rep0 + 1));
            if (this.remaining > 0) this.remaining--;
            continue;
          }
        } else {
          let dist: number;
          if (this.bit(this.isRepG1, state) === 0) dist = this.rep1;
          else {
            if (this.bit(this.isRepG2, state) === 0) dist = this.rep2;
            else {
              dist = this.rep3;
              this.rep3 = this.rep2;
            }
            this.rep2 = this.rep1;
          }
          this.rep1 = this.rep0;
          this.rep0 = dist;
        }
        len = this.repLenCoder.decode(this, posState);
        this.state = state < 7 ? 8 : 11;
      } else {
        this.rep3 = this.rep2;
        this.rep2 = this.rep1;
        this.rep1 = this.rep0;
        len = this.lenCoder.decode(this, posState);
        this.state = state < 7 ? 7 : 10;
        this.rep0 = this.distance(len);
        if (this.rep0 === 0xffffffff) {
          if (!this.endMarkerAllowed) throw malformed("end marker inside a chunk", this.label);
          if (this.rc[1] !== 0) throw malformed("corrupt end marker", this.label);
          if (this.remaining > 0) throw malformed("end marker before the declared size", this.label);
          this.finished = true;
          break;
        }
        if (this.remaining === 0) throw malformed("data after the declared size", this.label);
        if (this.rep0 >= this.dictSize || this.rep0 >= this.totalPos) {
          throw malformed("match distance beyond the data decoded so far", this.label);
        }
      }
      len += 2;
      if (this.remaining >= 0 && this.remaining < len) throw malformed("match runs past the declared size", this.label);
      this.copyMatch(this.rep0 + 1, len);
      if (this.remaining > 0) this.remaining -= len;
      if (this.pos - this.flushFrom >= OUTPUT_CHUNK) this.flush();
    }
    return this.finished;
  }

  distance(len: number): number {
    const lenState = Math.min(len, LEN_STATES - 1);
    const slot = this.tree(this.posSlot, lenState << 6, 6);
    if (slot < 4) return slot;
    const numDirect = (slot >>> 1) - 1;
    let dist = ((2 | (slot & 1)) << numDirect) >>> 0;
    if (slot < END_POS_MODEL_INDEX) return (dist + this.reverseTree(this.posDecoders, dist - slot, numDirect)) >>> 0;
    dist = (dist + ((this.direct(numDirect - NUM_ALIGN_BITS) << NUM_ALIGN_BITS) >>> 0)) >>> 0;
    return (dist + this.reverseTree(this.align, 0, NUM_ALIGN_BITS)) >>> 0;
  }
}

/** Match length coder (choice bits, low/mid/high trees). */
class LenCoder {
  readonly choice = probs(2);
  readonly low = probs(16 << 3);
  readonly mid = probs(16 << 3);
  readonly high = probs(256);

  reset(): void {
    this.choice.fill(PROB_INIT);
    this.low.fill(PROB_INIT);
    this.mid.fill(PROB_INIT);
    this.high.fill(PROB_INIT);
  }

  decode(s: LzmaState, posState: number): number {
    if (s.bit(this.choice, 0) === 0) return s.tree(this.low, posState << 3, 3);
    if (s.bit(this.choice, 1) === 0) return 8 + s.tree(this.mid, posState << 3, 3);
    return 16 + s.tree(this.high, 0, 8);
  }
}

/** Concatenates output chunks (copies: the window is reused). */
function collect(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return (chunks[0] as Uint8Array).slice();
  let total = 0;
  for (const c of chunks) total += c.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * A synchronous decoder that takes input pushed to it and yields output in bounded pulls.
 *
 * Protocol: `push` input (copied) until `needsInput` is false or the input ends (`end`); `pull`
 * returns the next output (empty when more input is needed or the data has ended: see `done`).
 * Corrupt data throws `MALFORMED`; input that ends too soon throws `MALFORMED` from `pull`.
 */
export interface BlockDecoder {
  /** Appends input. */
  push(chunk: Uint8Array): void;
  /** No more input will come. */
  end(): void;
  /**
   * Decodes about `max` bytes (a match may add a few hundred more), or fewer when the input runs
   * out. The array is the caller's.
   */
  pull(max: number): Uint8Array;
  /** True once the data has ended (nothing more will be produced). */
  readonly done: boolean;
  /** True when `pull` cannot make progress before more input is pushed (or `end` is called). */
  readonly needsInput: boolean;
  /** Input bytes the decoder has consumed so far. */
  readonly consumed: number;
}

/** Options of the raw decoders. */
export interface RawDecoderOptions {
  /** Largest window to allocate (default {@link MAX_LZMA_DICTIONARY}). */
  maxDictionary?: number;
  /** What to call the stream in errors (default `lzma`/`lzma2`). */
  label?: string;
}

/** Raw LZMA (no header): properties from a container, output size known or ended by a marker. */
export class RawLzmaDecoder implements BlockDecoder {
  readonly #s: LzmaState;
  #started = false;
  #ended = false;
  /** An error met after output was decoded: thrown by the next pull, once that output was handed out. */
  #failure: unknown;
  #dropped = 0;
  readonly #out: Uint8Array[] = [];

  /**
   * @param props - model parameters and dictionary size (see {@link parseLzmaProperties})
   * @param unpackSize - the output size, or -1 when unknown (an end marker then ends the data)
   * @param options - window limit and label
   */
  constructor(props: LzmaProperties, unpackSize: number, options: RawDecoderOptions = {}) {
    const label = options.label ?? "lzma";
    const cap = windowCapacity(props.dictSize, unpackSize, options.maxDictionary ?? MAX_LZMA_DICTIONARY, label);
    this.#s = new LzmaState(props, unpackSize, cap, label);
    this.#s.onOutput = (bytes) => this.#out.push(bytes.slice());
    if (unpackSize === 0) this.#s.finished = true;
  }

  /** @inheritdoc */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    const s = this.#s;
    this.#dropped += s.append(chunk);
  }

  /** @inheritdoc */
  end(): void {
    this.#ended = true;
  }

  /** @inheritdoc */
  get done(): boolean {
    return this.#s.finished && this.#out.length === 0;
  }

  /** @inheritdoc */
  get needsInput(): boolean {
    const s = this.#s;
    if (s.finished || this.#ended) return false;
    return s.buf.length - s.inPos < (this.#started ? INPUT_MARGIN : 5 + INPUT_MARGIN);
  }

  /** @inheritdoc */
  get consumed(): number {
    return this.#dropped + this.#s.inPos;
  }

  /** @inheritdoc */
  pull(max: number): Uint8Array {
    if (this.#failure !== undefined) throw this.#failure;
    const s = this.#s;
    if (!s.finished) {
      if (!this.#started) {
        if (this.needsInput) return new Uint8Array(0);
        s.initRange();
        this.#started = true;
      }
      try {
        s.run(this.#ended ? 0 : INPUT_MARGIN, Math.max(1, max));
      } catch (error) {
        // what decoded before the error is handed out first (a streaming reader gets it), then the error
        s.flush();
        if (this.#out.length === 0) throw error;
        this.#failure = error;
      }
      s.flush();
    }
    const out = this.#out.length === 0 ? new Uint8Array(0) : collect(this.#out);
    this.#out.length = 0;
    return out;
  }
}

const LZMA2_MAX_HEADER = 6;

/** LZMA2: a sequence of LZMA and stored chunks ending with a zero control byte. */
export class Lzma2Decoder implements BlockDecoder {
  readonly #s: LzmaState;
  readonly #label: string;
  #buf: Uint8Array = new Uint8Array(0);
  #inPos = 0;
  #dropped = 0;
  #ended = false;
  #finished = false;
  /** 0xe0: the first chunk must reset the dictionary; 0xc0: the next LZMA chunk must set properties. */
  #needInit = 0xe0;
  /** The chunk being decoded, if any. */
  #chunk: { lzma: boolean; data: Uint8Array; unpacked: number } | undefined;
  readonly #out: Uint8Array[] = [];

  /**
   * @param dictSize - the dictionary size (see {@link lzma2DictionarySize})
   * @param unpackSize - the output size when known (bounds the window), else -1
   * @param options - window limit and label
   */
  constructor(dictSize: number, unpackSize: number, options: RawDecoderOptions = {}) {
    this.#label = options.label ?? "lzma2";
    const cap = windowCapacity(dictSize, unpackSize, options.maxDictionary ?? MAX_LZMA_DICTIONARY, this.#label);
    this.#s = new LzmaState({ lc: 0, lp: 0, pb: 0, dictSize }, 0, cap, this.#label);
    this.#s.endMarkerAllowed = false;
    this.#s.onOutput = (bytes) => this.#out.push(bytes.slice());
  }

  /** @inheritdoc */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.#buf = concatBytes(this.#buf.subarray(this.#inPos), chunk);
    this.#dropped += this.#inPos;
    this.#inPos = 0;
  }

  /** @inheritdoc */
  end(): void {
    this.#ended = true;
  }

  /** @inheritdoc */
  get done(): boolean {
    return this.#finished && this.#out.length === 0;
  }

  /** @inheritdoc */
  get consumed(): number {
    return this.#dropped + this.#inPos;
  }

  /** @inheritdoc */
  get needsInput(): boolean {
    if (this.#finished || this.#ended || this.#chunk !== undefined) return false;
    const need = this.#chunkBytes();
    return need < 0 || this.#buf.length - this.#inPos < need;
  }

  /** Bytes of the next chunk (header and data), or -1 when its header is not complete yet. */
  #chunkBytes(): number {
    const avail = this.#buf.length - this.#inPos;
    if (avail < 1) return -1;
    const control = this.#buf[this.#inPos] as number;
    if (control === 0) return 1;
    if (control < 0x80) {
      if (avail < 3) return -1;
      return 3 + ((this.#buf[this.#inPos + 1] as number) << 8) + (this.#buf[this.#inPos + 2] as number) + 1;
    }
    const header = control >= 0xc0 ? LZMA2_MAX_HEADER : LZMA2_MAX_HEADER - 1;
    if (avail < 5) return -1;
    return header + ((this.#buf[this.#inPos + 3] as number) << 8) + (this.#buf[this.#inPos + 4] as number) + 1;
  }

  /** Parses the next chunk's header; false when its bytes are not all buffered yet. */
  #startChunk(): boolean {
    const need = this.#chunkBytes();
    const avail = this.#buf.length - this.#inPos;
    if (need < 0 || avail < need) {
      if (this.#ended) throw malformed("stream is truncated", this.#label);
      return false;
    }
    const b = this.#buf;
    const at = this.#inPos;
    const control = b[at] as number;
    const s = this.#s;
    if (control === 0) {
      this.#inPos += 1;
      this.#finished = true;
      return true;
    }
    if (control < 0x80) {
      if (control > 2) throw malformed(`invalid chunk control byte 0x${control.toString(16)}`, this.#label);
      if (control === 1) {
        this.#needInit = 0xc0;
        s.resetDictionary();
      } else if (this.#needInit === 0xe0) {
        throw malformed("the first chunk does not reset the dictionary", this.#label);
      }
      this.#chunk = { lzma: false, data: b.subarray(at + 3, at + need), unpacked: need - 3 };
      this.#inPos += need;
      return true;
    }
    if (control < this.#needInit) {
      throw malformed(
        this.#needInit === 0xe0 ? "the first chunk does not reset the dictionary" : "a chunk needs new properties",
        this.#label,
      );
    }
    this.#needInit = 0;
    const unpacked = (control & 0x1f) * 65536 + ((b[at + 1] as number) << 8) + (b[at + 2] as number) + 1;
    const mode = (control >>> 5) & 3;
    let header = 5;
    if (mode >= 2) {
      const props = b[at + 5] as number;
      const { lc, lp, pb } = decodeLzmaPropertiesByte(props);
      if (lc + lp > 4) throw malformed("lc + lp over 4", this.#label);
      s.setProperties(lc, lp, pb);
      header = 6;
    }
    if (mode === 3) s.resetDictionary();
    if (mode >= 1) s.resetState();
    s.buf = b.subarray(at + header, at + need);
    s.inPos = 0;
    s.remaining = unpacked;
    s.finished = false;
    s.initRange();
    this.#chunk = { lzma: true, data: s.buf, unpacked };
    this.#inPos += need;
    return true;
  }

  /** @inheritdoc */
  pull(max: number): Uint8Array {
    const limit = Math.max(1, max);
    let produced = 0;
    const s = this.#s;
    while (!this.#finished && produced < limit) {
      if (this.#chunk === undefined && !this.#startChunk()) break;
      const chunk = this.#chunk;
      if (chunk === undefined) continue; // the end byte
      if (chunk.lzma) {
        const before = s.totalPos;
        s.run(0, limit - produced);
        produced += s.totalPos - before;
        if (!s.finished) continue;
        if (s.rc[1] !== 0 || s.inPos !== s.buf.length) {
          throw malformed("chunk data does not end where its size says", this.#label);
        }
      } else {
        const n = Math.min(chunk.data.length, limit - produced);
        s.putBytes(chunk.data.subarray(0, n));
        produced += n;
        chunk.data = chunk.data.subarray(n);
        if (chunk.data.length > 0) continue;
      }
      this.#chunk = undefined;
    }
    s.flush();
    const out = this.#out.length === 0 ? new Uint8Array(0) : collect(this.#out);
    this.#out.length = 0;
    return out;
  }
}

/** Output bytes the LZMA-alone decoder produces between two checks of its reader. */
const STEP = 1 << 20;

/** LZMA-alone decoder as a Transform stream, paced by its reader ({@link PacedTransform}). */
class UnLzma extends PacedTransform {
  /** Input bytes that belonged to the stream (set when it ends). */
  bytesWritten = 0;
  #header = new Uint8Array(0);
  #state: LzmaState | undefined;
  #dropped = 0;

  constructor() {
    super({ readableHighWaterMark: OUTPUT_CHUNK });
  }

  protected override takeInput(chunk: Uint8Array): void {
    let s = this.#state;
    if (s === undefined) {
      const merged = concatBytes(this.#header, chunk);
      if (merged.length < 13 + 5) {
        this.#header = merged;
        return;
      }
      const header = parseHeader(merged);
      if (header.dictSize > MAX_LZMA_DICTIONARY && (header.unpackSize < 0 || header.unpackSize > MAX_LZMA_DICTIONARY)) {
        throw new ModelgateError("BUDGET_EXCEEDED", `lzma: dictionary of ${header.dictSize} bytes is over the limit`, {
          budget: "maxLzmaDictionary",
        });
      }
      s = new LzmaState(header, header.unpackSize, Math.min(header.dictSize, MAX_LZMA_DICTIONARY), "lzma");
      s.onOutput = (bytes) => this.push(bytes.slice());
      s.buf = merged;
      s.inPos = 13;
      s.initRange();
      this.#state = s;
      this.#dropped = 0;
      return;
    }
    if (s.finished || chunk.length === 0) return;
    this.#dropped += s.append(chunk);
  }

  protected override decodeSome(final: boolean): boolean {
    const s = this.#state;
    if (s === undefined) return true;
    for (;;) {
      if (s.finished) break;
      const before = s.totalPos;
      let done: boolean;
      try {
        done = s.run(final ? 0 : INPUT_MARGIN, STEP);
      } finally {
        // what decoded before an error (a truncated stream) is output before the error
        s.flush();
      }
      if (done || s.totalPos - before < STEP) break; // ended, or needs input
      if (this.outputFull) return false;
    }
    if (s.finished || final) this.bytesWritten = this.#dropped + s.inPos;
    return true;
  }

  protected override checkEnd(): void {
    if (this.#state === undefined) throw malformed("stream is truncated (header)");
    if (!this.#state.finished) throw malformed("stream is truncated");
  }
}

/**
 * Creates a streaming LZMA-alone decoder: write compressed bytes, read decompressed ones. Its
 * `bytesWritten` property holds the input bytes that belonged to the stream once it has ended.
 */
export function createUnLzma(): Duplex {
  return new UnLzma();
}

/**
 * A zip LZMA member (method 14: a 4-byte header of version and properties size, the 5 properties
 * bytes, raw LZMA) decoded as Python's `zipfile` does: the decoder gets no size, so the data ends
 * at an end marker or where the input ends (a marker is optional), and only the declared size is
 * kept. A stream that runs past the declared size is cut there and flagged ({@link overrun}); one
 * that ends before it gives what it has (zipfile's CRC check covers those bytes only). Treating
 * either as an error hid content `np.load` reads.
 */
export class ZipLzma extends PacedTransform {
  /**
   * Input bytes taken, all of them (as the LZMA-alone decoding before: zip members are LZMA only for
   * Python's zipfile, which ignores bytes after an end marker; streaming readers do not read LZMA).
   */
  bytesWritten = 0;
  /** Whether the stream decodes past the declared size (only the declared bytes are output). */
  overrun = false;
  readonly #declared: number;
  #head = new Uint8Array(0);
  #state: LzmaState | undefined;
  #emitted = 0;
  #received = 0;

  /** @param declared - the member's declared uncompressed size (where the output is cut) */
  constructor(declared: number) {
    super({ readableHighWaterMark: OUTPUT_CHUNK });
    this.#declared = Math.max(0, declared);
  }

  protected override takeInput(chunk: Uint8Array): void {
    this.#received += chunk.length;
    let s = this.#state;
    if (s === undefined) {
      const merged = concatBytes(this.#head, chunk);
      if (merged.length >= 4) {
        const propsSize = (merged[2] as number) | ((merged[3] as number) << 8);
        if (propsSize !== 5) throw malformed(`header declares ${propsSize} properties bytes (LZMA1 has 5)`, "zip LZMA");
      }
      // the header, the properties and the range coder's first 5 bytes
      if (merged.length < 9 + 5) {
        this.#head = merged;
        return;
      }
      const props = parseLzmaProperties(merged.subarray(4, 9));
      const label = "zip LZMA";
      // the window never needs more than the output kept (plus the byte that shows an overrun)
      s = new LzmaState(
        props,
        -1,
        windowCapacity(props.dictSize, this.#declared + 1, MAX_LZMA_DICTIONARY, label),
        label,
      );
      s.onOutput = (bytes) => this.#emit(bytes);
      s.buf = merged;
      s.inPos = 9;
      s.initRange();
      this.#state = s;
      return;
    }
    if (s.finished || chunk.length === 0) return;
    s.append(chunk);
  }

  #emit(bytes: Uint8Array): void {
    const room = this.#declared - this.#emitted;
    if (bytes.length > room) this.overrun = true;
    const kept = bytes.length > room ? bytes.subarray(0, room) : bytes;
    if (kept.length === 0) return;
    this.push(kept.slice());
    this.#emitted += kept.length;
  }

  protected override decodeSome(final: boolean): boolean {
    const s = this.#state;
    if (s === undefined) return true;
    for (;;) {
      if (s.finished) break;
      const before = s.totalPos;
      // decode no further than one byte past the declared size (enough to tell an overrun)
      const limit = Math.min(STEP, this.#declared + 1 - s.totalPos);
      let done: boolean;
      try {
        done = limit <= 0 || s.run(final ? 0 : INPUT_MARGIN, limit);
      } catch (error) {
        // the input ended without an end marker: zipfile keeps what decoded
        if (!(final && s.inPos >= s.buf.length)) throw error;
        done = true;
      }
      s.flush();
      if (done || this.overrun) s.finished = true;
      if (s.finished || s.totalPos - before < limit) break; // ended, or needs input
      if (this.outputFull) return false;
    }
    this.bytesWritten = this.#received;
    return true;
  }

  protected override checkEnd(): void {
    this.bytesWritten = this.#received;
    if (this.#state === undefined && this.#head.length < 9)
      throw malformed("member ends inside its header", "zip LZMA");
  }
}

/**
 * Creates the decoder of a zip LZMA member ({@link ZipLzma}).
 * @param declared - the member's declared uncompressed size
 */
export function createZipLzma(declared: number): ZipLzma {
  return new ZipLzma(declared);
}
