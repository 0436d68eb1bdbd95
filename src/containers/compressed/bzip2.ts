/**
 * A bzip2 decoder written for modelgate (from the format's published description: Huffman-coded
 * MTF/RLE2 symbols, inverse Burrows–Wheeler transform, RLE1, per-block and stream CRCs).
 *
 * Why in-house: the npm decoders either decode a whole write synchronously with no way to stop
 * them (`unbzip2-stream` kept going past `destroy()` to 1.8 GB RSS on a 200-byte bomb, and threw
 * `TypeError`s on truncated input) or need the whole input and output in memory (`seek-bzip`).
 * This one is a Transform stream: it decodes one block at a time (≤ 900 kB of BWT data), emits the
 * output in 64 KiB chunks, and the stream's backpressure plus the caller's budget stop it.
 * Concatenated streams (pbzip2) are decoded; bytes after the last stream are left unconsumed and
 * counted in `bytesWritten` so callers can report them. Randomised blocks (bzip2 < 0.9.5, still
 * decoded by libbz2) are de-randomised ({@link derandomiseBlock}).
 * @module
 */
import type { Duplex } from "node:stream";
import { concatBytes } from "../../core/byte-source.js";
import { ModelgateError } from "../../core/errors.js";
import { derandomiseBlock } from "./bzip2-rand.js";
import { PacedTransform } from "./paced.js";

const BLOCK_MAGIC_HI = 0x314159;
const BLOCK_MAGIC_LO = 0x265359;
const EOS_MAGIC_HI = 0x177245;
const EOS_MAGIC_LO = 0x385090;
const MAX_GROUPS = 6;
const MAX_SELECTORS = 18002;
const MAX_CODE_LENGTH = 20;
const GROUP_SIZE = 50;
const OUTPUT_CHUNK = 64 * 1024;

/** Thrown internally when the buffered input ends inside a block: wait for more. */
class NeedInput extends Error {}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 24;
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    table[i] = c >>> 0;
  }
  return table;
})();

function malformed(message: string): ModelgateError {
  return new ModelgateError("MALFORMED", `bzip2: ${message}`);
}

/** MSB-first bit reader over a byte array, positioned in bits. */
class Bits {
  bytes: Uint8Array;
  pos = 0;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }

  get available(): number {
    return this.bytes.length * 8 - this.pos;
  }

  read(n: number): number {
    if (this.pos + n > this.bytes.length * 8) throw new NeedInput();
    let value = 0;
    for (let i = 0; i < n; i++) {
      const bit = ((this.bytes[this.pos >>> 3] as number) >>> (7 - (this.pos & 7))) & 1;
      value = value * 2 + bit;
      this.pos++;
    }
    return value;
  }

  bit(): number {
    if (this.pos >= this.bytes.length * 8) throw new NeedInput();
    const bit = ((this.bytes[this.pos >>> 3] as number) >>> (7 - (this.pos & 7))) & 1;
    this.pos++;
    return bit;
  }
}

interface HuffmanTable {
  minLen: number;
  maxLen: number;
  limit: Int32Array;
  base: Int32Array;
  perm: Int32Array;
}

function buildTable(lengths: Uint8Array, alphaSize: number): HuffmanTable {
  let minLen = 32;
  let maxLen = 0;
  for (let i = 0; i < alphaSize; i++) {
    const l = lengths[i] as number;
    if (l > maxLen) maxLen = l;
    if (l < minLen) minLen = l;
  }
  const perm = new Int32Array(alphaSize);
  let pp = 0;
  for (let len = minLen; len <= maxLen; len++) {
    for (let s = 0; s < alphaSize; s++) if (lengths[s] === len) perm[pp++] = s;
  }
  // base[len] = index in perm of the first code of length len minus that first code.
  const lengthCount = new Int32Array(MAX_CODE_LENGTH + 1);
  for (let i = 0; i < alphaSize; i++)
    lengthCount[lengths[i] as number] = (lengthCount[lengths[i] as number] as number) + 1;
  const limit = new Int32Array(MAX_CODE_LENGTH + 2).fill(-1);
  const base = new Int32Array(MAX_CODE_LENGTH + 2);
  let code = 0;
  let index = 0;
  for (let len = minLen; len <= maxLen; len++) {
    const n = lengthCount[len] as number;
    base[len] = index - code;
    code += n;
    index += n;
    limit[len] = code - 1;
    code <<= 1;
  }
  return { minLen, maxLen, limit, base, perm };
}

function decodeSymbol(bits: Bits, t: HuffmanTable): number {
  let len = t.minLen;
  let code = bits.read(len);
  for (;;) {
    if (len > t.maxLen) throw malformed("bad Huffman code");
    if (code <= (t.limit[len] as number)) {
      const i = code + (t.base[len] as number);
      if (i < 0 || i >= t.perm.length) throw malformed("bad Huffman code");
      return t.perm[i] as number;
    }
    code = code * 2 + bits.bit();
    len++;
  }
}

/**
 * A decoder's arrays for one block at a time (the BWT column, its links and the block's bytes),
 * reused from block to block: fresh ones for each block were 5.4 MB of new memory per 900 kB
 * block, and in a long-running process new large buffers come with a page fault per 4 KiB.
 */
interface BlockScratch {
  readonly ll: Uint8Array;
  readonly next: Int32Array;
  readonly out: Uint8Array;
}

const scratchOf = (blockSizeMax: number): BlockScratch => ({
  ll: new Uint8Array(blockSizeMax),
  next: new Int32Array(blockSizeMax),
  out: new Uint8Array(blockSizeMax),
});

/**
 * Decodes one block's BWT data; returns the block's CRC and its RLE1-encoded bytes in order (a view
 * of `scratch.out`, valid until the next block is decoded with it). Every element it reads of the
 * scratch arrays was written for this block.
 */
function decodeBlock(bits: Bits, blockSizeMax: number, scratch: BlockScratch): { crc: number; data: Uint8Array } {
  const crc = bits.read(32) >>> 0;
  const randomised = bits.bit() === 1;
  const origPtr = bits.read(24);

  // Symbol map.
  const used = bits.read(16);
  const seqToUnseq = new Uint8Array(256);
  let inUse = 0;
  for (let i = 0; i < 16; i++) {
    if (used & (0x8000 >>> i)) {
      const group = bits.read(16);
      for (let j = 0; j < 16; j++) if (group & (0x8000 >>> j)) seqToUnseq[inUse++] = i * 16 + j;
    }
  }
  if (inUse === 0) throw malformed("block uses no symbols");
  const alphaSize = inUse + 2;

  const nGroups = bits.read(3);
  if (nGroups < 2 || nGroups > MAX_GROUPS) throw malformed(`invalid number of Huffman groups ${nGroups}`);
  const nSelectors = bits.read(15);
  if (nSelectors < 1) throw malformed("no selectors");
  const mtfGroups = [0, 1, 2, 3, 4, 5].slice(0, nGroups);
  const selectors = new Uint8Array(Math.min(nSelectors, MAX_SELECTORS));
  for (let i = 0; i < nSelectors; i++) {
    let j = 0;
    while (bits.bit()) {
      j++;
      if (j >= nGroups) throw malformed("invalid selector");
    }
    const v = mtfGroups[j] as number;
    mtfGroups.splice(j, 1);
    mtfGroups.unshift(v);
    if (i < MAX_SELECTORS) selectors[i] = v;
  }

  const tables: HuffmanTable[] = [];
  const lengths = new Uint8Array(alphaSize);
  for (let t = 0; t < nGroups; t++) {
    let current = bits.read(5);
    for (let i = 0; i < alphaSize; i++) {
      for (;;) {
        if (current < 1 || current > MAX_CODE_LENGTH) throw malformed("invalid code length");
        if (!bits.bit()) break;
        current += bits.bit() ? -1 : 1;
      }
      lengths[i] = current;
    }
    tables.push(buildTable(lengths, alphaSize));
  }

  // MTF/RLE2 symbols → the BWT last column.
  const eob = inUse + 1;
  const mtf = new Uint8Array(256);
  for (let i = 0; i < 256; i++) mtf[i] = i;
  const ll = scratch.ll;
  const counts = new Int32Array(256);
  let n = 0;
  let group = -1;
  let groupLeft = 0;
  let table = tables[0] as HuffmanTable;
  let run = 0;
  let runWeight = 1;
  const flushRun = (): void => {
    if (run === 0) return;
    const byte = seqToUnseq[mtf[0] as number] as number;
    if (n + run > blockSizeMax) throw malformed("block longer than its declared size");
    ll.fill(byte, n, n + run);
    counts[byte] = (counts[byte] as number) + run;
    n += run;
    run = 0;
    runWeight = 1;
  };
  for (;;) {
    if (groupLeft === 0) {
      group++;
      if (group >= selectors.length) throw malformed("ran out of selectors");
      table = tables[selectors[group] as number] as HuffmanTable;
      groupLeft = GROUP_SIZE;
    }
    groupLeft--;
    const sym = decodeSymbol(bits, table);
    if (sym <= 1) {
      // RUNA (0) adds 1×weight, RUNB (1) adds 2×weight; the weight doubles each time.
      run += (sym + 1) * runWeight;
      runWeight *= 2;
      if (run > blockSizeMax) throw malformed("run longer than the block");
      continue;
    }
    flushRun();
    if (sym === eob) break;
    const index = sym - 1;
    const value = mtf[index] as number;
    mtf.copyWithin(1, 0, index);
    mtf[0] = value;
    const byte = seqToUnseq[value] as number;
    if (n >= blockSizeMax) throw malformed("block longer than its declared size");
    ll[n++] = byte;
    counts[byte] = (counts[byte] as number) + 1;
  }
  if (origPtr >= n) throw malformed("BWT origin pointer out of range");

  // Inverse BWT.
  const cumulative = new Int32Array(256);
  for (let i = 0, sum = 0; i < 256; i++) {
    cumulative[i] = sum;
    sum += counts[i] as number;
  }
  const next = scratch.next;
  for (let i = 0; i < n; i++) {
    const c = ll[i] as number;
    next[cumulative[c] as number] = i;
    cumulative[c] = (cumulative[c] as number) + 1;
  }
  const out = scratch.out;
  let p = next[origPtr] as number;
  for (let i = 0; i < n; i++) {
    out[i] = ll[p] as number;
    p = next[p] as number;
  }
  const data = out.subarray(0, n);
  if (randomised) derandomiseBlock(data);
  return { crc, data };
}

/**
 * A streaming bzip2 decoder (node Transform). `bytesWritten` is the number of input bytes that
 * belonged to bzip2 streams once the stream has ended.
 * @internal
 */
export class Bunzip2 extends PacedTransform {
  /** Input bytes consumed by bzip2 streams (set when the input ends). */
  bytesWritten = 0;
  #buffer: Uint8Array = new Uint8Array(0);
  /** Bit position in `#buffer` of the next unread structure. */
  #bit = 0;
  /** Bytes already dropped from the front of `#buffer`. */
  #dropped = 0;
  #state: "stream-header" | "block" | "done" = "stream-header";
  #blockSizeMax = 0;
  #scratch: BlockScratch | undefined;
  #combinedCrc = 0;
  #streams = 0;
  #trailing = false;

  constructor() {
    super({ readableHighWaterMark: OUTPUT_CHUNK });
  }

  protected override takeInput(chunk: Uint8Array): void {
    if (this.#trailing) return;
    this.#buffer = concatBytes(this.#buffer, chunk);
  }

  protected override decodeSome(final: boolean): boolean {
    return this.#drain(final);
  }

  protected override checkEnd(): void {
    if (this.#streams === 0) throw malformed("not a bzip2 stream");
    if (this.#state !== "done" && !this.#trailing) throw malformed("stream is truncated");
  }

  /** Decodes until more input is needed or the input is used up (true), or the output is full (false). */
  #drain(final: boolean): boolean {
    for (;;) {
      if (this.#trailing) return true;
      const bits = new Bits(this.#buffer);
      bits.pos = this.#bit;
      try {
        if (this.#state === "stream-header" || this.#state === "done") {
          if (bits.available < 32) throw new NeedInput(); // at the very end: handled below
          const b = bits.read(8);
          const z = bits.read(8);
          const h = bits.read(8);
          const level = bits.read(8);
          if (b !== 0x42 || z !== 0x5a || h !== 0x68 || level < 0x31 || level > 0x39) {
            if (this.#state === "done") {
              this.#trailing = true;
              this.#finish(this.#bit);
              return true;
            }
            throw malformed("bad stream header");
          }
          this.#blockSizeMax = (level - 0x30) * 100_000;
          this.#combinedCrc = 0;
          this.#state = "block";
          this.#commit(bits.pos);
          continue;
        }
        // "block": a block or the end-of-stream marker.
        const hi = bits.read(24);
        const lo = bits.read(24);
        if (hi === BLOCK_MAGIC_HI && lo === BLOCK_MAGIC_LO) {
          if (this.#scratch === undefined || this.#scratch.ll.length !== this.#blockSizeMax)
            this.#scratch = scratchOf(this.#blockSizeMax);
          const block = decodeBlock(bits, this.#blockSizeMax, this.#scratch);
          const crc = this.#emitRle1(block.data);
          if (crc !== block.crc) throw malformed("block CRC mismatch");
          this.#combinedCrc = (((this.#combinedCrc << 1) | (this.#combinedCrc >>> 31)) ^ crc) >>> 0;
          this.#commit(bits.pos);
          // a block of runs is about 46 MB of output: the next one waits until this one is read
          if (this.outputFull) return false;
          continue;
        }
        if (hi === EOS_MAGIC_HI && lo === EOS_MAGIC_LO) {
          const stored = bits.read(32) >>> 0;
          if (stored !== this.#combinedCrc) throw malformed("stream CRC mismatch");
          bits.pos = (bits.pos + 7) & ~7; // streams are byte-aligned
          this.#streams++;
          this.#state = "done";
          this.#commit(bits.pos);
          continue;
        }
        throw malformed("bad block header");
      } catch (error) {
        if (!(error instanceof NeedInput)) throw error;
        if (final) {
          if (this.#state === "done") {
            this.#finish(this.#bit);
            return true;
          }
          throw malformed("stream is truncated");
        }
        return true;
      }
    }
  }

  /** Marks `bitPos` as consumed and drops whole consumed bytes from the buffer. */
  #commit(bitPos: number): void {
    const bytes = bitPos >>> 3;
    this.#buffer = this.#buffer.subarray(bytes);
    this.#dropped += bytes;
    this.#bit = bitPos & 7;
  }

  #finish(bitPos: number): void {
    this.bytesWritten = this.#dropped + (bitPos >>> 3);
  }

  /** Undoes RLE1 (4 equal bytes then a repeat count), emits the bytes, returns the block CRC. */
  #emitRle1(data: Uint8Array): number {
    let crc = 0xffffffff;
    let out = new Uint8Array(OUTPUT_CHUNK);
    let o = 0;
    let last = -1;
    let same = 0;
    for (let i = 0; i < data.length; i++) {
      const byte = data[i] as number;
      if (same === 4) {
        // `byte` is a repeat count of `last`.
        let count = byte;
        while (count > 0) {
          const n = Math.min(count, OUTPUT_CHUNK - o);
          out.fill(last, o, o + n);
          for (let k = 0; k < n; k++) crc = ((crc << 8) ^ (CRC_TABLE[((crc >>> 24) ^ last) & 0xff] as number)) >>> 0;
          o += n;
          count -= n;
          if (o === OUTPUT_CHUNK) {
            this.push(out);
            out = new Uint8Array(OUTPUT_CHUNK);
            o = 0;
          }
        }
        same = 0;
        last = -1;
        continue;
      }
      out[o++] = byte;
      crc = ((crc << 8) ^ (CRC_TABLE[((crc >>> 24) ^ byte) & 0xff] as number)) >>> 0;
      if (o === OUTPUT_CHUNK) {
        this.push(out);
        out = new Uint8Array(OUTPUT_CHUNK);
        o = 0;
      }
      if (byte === last) same++;
      else {
        last = byte;
        same = 1;
      }
    }
    if (o > 0) this.push(out.subarray(0, o));
    return (crc ^ 0xffffffff) >>> 0;
  }
}

/**
 * Creates a streaming bzip2 decoder: write compressed bytes, read decompressed ones. Its
 * `bytesWritten` property holds the input bytes that belonged to bzip2 streams once it has ended.
 */
export function createBunzip2(): Duplex {
  return new Bunzip2();
}
