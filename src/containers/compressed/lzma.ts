/**
 * An LZMA-alone (`.lzma`, Python's `lzma.FORMAT_ALONE`, joblib's `lzma` compressor) decoder written
 * for modelgate from the format's published description (range coder, literal/match/rep coding,
 * 12-state machine).
 *
 * Why in-house: `xz-decompress` (used for `.xz`) only speaks LZMA2 inside xz containers, and the
 * npm LZMA1 decoders decode whole buffers with no way to cap their output.
 *
 * Streaming: the decoder only decodes a symbol while at least {@link INPUT_MARGIN} unread input
 * bytes are buffered (no symbol needs more), so it never has to suspend mid-symbol; at the end of
 * input it finishes with what remains. The dictionary window grows with the output up to the
 * declared dictionary size, so a hostile header cannot make it allocate gigabytes up front.
 * @module
 */
import { type Duplex, Transform, type TransformCallback } from "node:stream";
import { ModelgateError } from "../../errors.js";

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

function malformed(message: string): ModelgateError {
  return new ModelgateError("MALFORMED", `lzma: ${message}`);
}

/** Parsed 13-byte LZMA-alone header. */
interface LzmaHeader {
  lc: number;
  lp: number;
  pb: number;
  dictSize: number;
  /** Declared uncompressed size, or -1 when unknown (an end marker is then mandatory). */
  unpackSize: number;
}

function parseHeader(h: Uint8Array): LzmaHeader {
  let d = h[0] as number;
  if (d >= 9 * 5 * 5) throw malformed("invalid properties byte");
  const lc = d % 9;
  d = Math.floor(d / 9);
  const lp = d % 5;
  const pb = Math.floor(d / 5);
  const dictSize = Math.max(
    4096,
    ((h[1] as number) | ((h[2] as number) << 8) | ((h[3] as number) << 16) | ((h[4] as number) << 24)) >>> 0,
  );
  let unknown = true;
  let unpackSize = 0;
  for (let i = 12; i >= 5; i--) {
    if (h[i] !== 0xff) unknown = false;
    unpackSize = unpackSize * 256 + (h[i] as number);
  }
  return { lc, lp, pb, dictSize, unpackSize: unknown ? -1 : unpackSize };
}

const probs = (n: number): Uint16Array => new Uint16Array(n).fill(PROB_INIT);

/** The decoder proper; input is pulled from `buf` at `inPos`. */
class LzmaState {
  readonly h: LzmaHeader;
  // range decoder
  range = 0xffffffff;
  code = 0;
  buf: Uint8Array = new Uint8Array(0);
  inPos = 0;
  // window
  win: Uint8Array;
  winCap: number;
  pos = 0;
  full = false;
  totalPos = 0;
  flushFrom = 0;
  // model
  readonly literal: Uint16Array;
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
  remaining: number;
  finished = false;

  constructor(h: LzmaHeader) {
    this.h = h;
    this.literal = probs(0x300 << (h.lc + h.lp));
    this.winCap = Math.min(h.dictSize, MAX_LZMA_DICTIONARY);
    this.win = new Uint8Array(Math.min(this.winCap, 1 << 20));
    this.remaining = h.unpackSize;
  }

  nextByte(): number {
    if (this.inPos >= this.buf.length) throw malformed("stream is truncated");
    return this.buf[this.inPos++] as number;
  }

  initRange(): void {
    if (this.nextByte() !== 0) throw malformed("bad range coder start");
    this.code = 0;
    for (let i = 0; i < 4; i++) this.code = ((this.code << 8) | this.nextByte()) >>> 0;
    if (this.code === this.range) throw malformed("corrupt range coder state");
  }

  bit(p: Uint16Array, i: number): number {
    const prob = p[i] as number;
    const bound = (this.range >>> 11) * prob;
    let bit: number;
    if (this.code < bound) {
      p[i] = prob + ((2048 - prob) >>> 5);
      this.range = bound;
      bit = 0;
    } else {
      p[i] = prob - (prob >>> 5);
      this.code -= bound;
      this.range -= bound;
      bit = 1;
    }
    if (this.range < 0x1000000) {
      this.range = (this.range * 256) >>> 0;
      this.code = ((this.code * 256) | this.nextByte()) >>> 0;
    }
    return bit;
  }

  direct(n: number): number {
    let result = 0;
    for (let i = 0; i < n; i++) {
      this.range >>>= 1;
      let bit = 1;
      if (this.code >= this.range) this.code -= this.range;
      else bit = 0;
      if (this.code === this.range) throw malformed("corrupt direct bits");
      if (this.range < 0x1000000) {
        this.range = (this.range * 256) >>> 0;
        this.code = ((this.code * 256) | this.nextByte()) >>> 0;
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

  putByte(b: number): void {
    if (this.pos === this.win.length) {
      if (this.win.length < this.winCap) {
        const grown = new Uint8Array(Math.min(this.winCap, this.win.length * 2));
        grown.set(this.win);
        this.win = grown;
      } else {
        this.onOutput(this.win.subarray(this.flushFrom, this.pos));
        this.pos = 0;
        this.flushFrom = 0;
        this.full = true;
      }
    }
    this.win[this.pos++] = b;
    this.totalPos++;
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

  /** Decodes symbols while at least `margin` input bytes remain; true once the stream has ended. */
  run(margin: number): boolean {
    const pbMask = (1 << this.h.pb) - 1;
    const lpMask = (1 << this.h.lp) - 1;
    const { lc } = this.h;
    while (!this.finished && this.buf.length - this.inPos >= margin) {
      if (this.remaining === 0) {
        // Known size reached: an end marker may still follow; a clean finish has code 0.
        if (this.code === 0) {
          this.finished = true;
          break;
        }
      }
      const posState = this.totalPos & pbMask;
      const state = this.state;
      if (this.bit(this.isMatch, (state << POS_BITS_MAX) + posState) === 0) {
        if (this.remaining === 0) throw malformed("data after the declared size");
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
        while (symbol < 0x100) symbol = (symbol << 1) | this.bit(this.literal, base + symbol);
        this.putByte(symbol - 0x100);
        this.state = state < 4 ? 0 : state < 10 ? state - 3 : state - 6;
        if (this.remaining > 0) this.remaining--;
        continue;
      }
      let len: number;
      if (this.bit(this.isRep, state) !== 0) {
        if (this.remaining === 0) throw malformed("data after the declared size");
        if (this.totalPos === 0) throw malformed("repeat match before any data");
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
          if (this.code !== 0) throw malformed("corrupt end marker");
          if (this.remaining > 0) throw malformed("end marker before the declared size");
          this.finished = true;
          break;
        }
        if (this.remaining === 0) throw malformed("data after the declared size");
        if (this.rep0 >= this.h.dictSize || (!this.full && this.rep0 >= this.pos)) {
          throw malformed("match distance beyond the data decoded so far");
        }
      }
      len += 2;
      if (this.remaining >= 0 && this.remaining < len) throw malformed("match runs past the declared size");
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

  decode(s: LzmaState, posState: number): number {
    if (s.bit(this.choice, 0) === 0) return s.tree(this.low, posState << 3, 3);
    if (s.bit(this.choice, 1) === 0) return 8 + s.tree(this.mid, posState << 3, 3);
    return 16 + s.tree(this.high, 0, 8);
  }
}

/** LZMA-alone decoder as a Transform stream. */
class UnLzma extends Transform {
  /** Input bytes that belonged to the stream (set when it ends). */
  bytesWritten = 0;
  #header = new Uint8Array(0);
  #state: LzmaState | undefined;
  #dropped = 0;

  constructor() {
    super({ readableHighWaterMark: OUTPUT_CHUNK });
  }

  override _transform(chunk: Uint8Array, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.#feed(chunk, false);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.#feed(new Uint8Array(0), true);
      if (this.#state === undefined) throw malformed("stream is truncated (header)");
      if (!this.#state.finished) throw malformed("stream is truncated");
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  #feed(chunk: Uint8Array, final: boolean): void {
    let s = this.#state;
    if (s === undefined) {
      const merged = new Uint8Array(this.#header.length + chunk.length);
      merged.set(this.#header);
      merged.set(chunk, this.#header.length);
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
      s = new LzmaState(header);
      s.onOutput = (bytes) => this.push(bytes.slice());
      s.buf = merged;
      s.inPos = 13;
      s.initRange();
      this.#state = s;
      this.#dropped = 0;
      chunk = new Uint8Array(0);
    }
    if (s.finished) return;
    if (chunk.length > 0) {
      const rest = s.buf.subarray(s.inPos);
      const merged = new Uint8Array(rest.length + chunk.length);
      merged.set(rest);
      merged.set(chunk, rest.length);
      this.#dropped += s.inPos;
      s.buf = merged;
      s.inPos = 0;
    }
    const done = s.run(final ? 0 : INPUT_MARGIN);
    s.flush();
    if (done || final) this.bytesWritten = this.#dropped + s.inPos;
  }
}

/**
 * Creates a streaming LZMA-alone decoder: write compressed bytes, read decompressed ones. Its
 * `bytesWritten` property holds the input bytes that belonged to the stream once it has ended.
 */
export function createUnLzma(): Duplex {
  return new UnLzma();
}
