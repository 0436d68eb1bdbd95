/**
 * The bytes `str.encode('latin-1')` returns for a str the input holds as UTF-8 (BINUNICODE), read
 * straight from the input. Protocols 0-2 pickle `bytes` as `_codecs.encode(<str>, 'latin1')`, so a
 * large tensor pickled with them (`torch.storage._load_from_bytes(...)`) is such a str: too large
 * to hold, it is decoded as the analysis reads it. One pass over the input checks that every code
 * point is below 256 (Python raises otherwise) and records where every {@link STEP}-th output byte
 * starts; reads decode from the nearest such point.
 * @module
 */

import { type ByteSource, readClamped } from "../../core/byte-source.js";

/** Output bytes between two recorded input positions. */
const STEP = 64 * 1024;
/** Input bytes read at once by the first pass. */
const CHUNK = 1 << 20;

/** A {@link ByteSource} of the latin-1 bytes of UTF-8 text (see the module comment). */
class Latin1Source implements ByteSource {
  /**
   * @param src - the UTF-8 bytes
   * @param size - the number of code points (output bytes)
   * @param marks - input offset of output byte `k * STEP`, for each k
   */
  constructor(
    private readonly src: ByteSource,
    readonly size: number,
    private readonly marks: readonly number[],
  ) {}

  async read(offset: number, length: number): Promise<Uint8Array> {
    const end = Math.min(this.size, offset + length);
    if (offset >= end) return new Uint8Array(0);
    const k = Math.floor(offset / STEP);
    let out = k * STEP;
    const at = this.marks[k] as number;
    const result = new Uint8Array(end - offset);
    // a code point is at most 2 bytes: one read of twice the span covers it
    const raw = await readClamped(this.src, at, Math.min(this.src.size - at, 2 * (end - out)));
    for (let i = 0; i < raw.length && out < end; ) {
      const b = raw[i] as number;
      const c = b < 0x80 ? b : ((b & 0x1f) << 6) | ((raw[i + 1] as number) & 0x3f);
      i += b < 0x80 ? 1 : 2;
      if (out >= offset) result[out - offset] = c;
      out++;
    }
    return result;
  }
}

/**
 * The latin-1 encoding of the UTF-8 text in `src` as a source read on demand, or undefined when
 * Python's `encode('latin-1')` raises (a code point of 256 or more) or the UTF-8 is not valid.
 * @param src - the str's UTF-8 bytes in the input
 * @param checkpoint - the scan's abort/deadline check, called for every chunk of the first pass
 */
export async function latin1Source(src: ByteSource, checkpoint?: () => void): Promise<ByteSource | undefined> {
  const marks: number[] = [];
  let out = 0;
  let pending = -1; // the lead byte of a code point split between two chunks
  for (let pos = 0; pos < src.size; ) {
    checkpoint?.();
    const chunk = await readClamped(src, pos, Math.min(CHUNK, src.size - pos));
    if (chunk.length === 0) return undefined;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i] as number;
      if (pending >= 0) {
        if ((b & 0xc0) !== 0x80) return undefined;
        pending = -1;
        continue;
      }
      if (out % STEP === 0) marks.push(pos + i);
      out++;
      if (b < 0x80) continue;
      // U+0080..U+00FF are C2/C3 + a continuation byte; anything else is >= 256 or not UTF-8
      if (b !== 0xc2 && b !== 0xc3) return undefined;
      pending = b;
    }
    pos += chunk.length;
  }
  if (pending >= 0) return undefined;
  return new Latin1Source(src, out, marks);
}
