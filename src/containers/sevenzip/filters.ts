/**
 * The 7z filter coders (decoding direction): Delta and the branch-call converters (BCJ) for x86,
 * ARM, ARM Thumb, PowerPC and SPARC. Each undoes what its encoder did to make machine code
 * compress better: call/jump targets made absolute are turned back into relative ones.
 *
 * A filter is fed the stream chunk by chunk; an instruction that straddles two chunks is held
 * back (at most 4 bytes) until the next chunk or the end of the stream.
 * @module
 */

/** A stateful filter over a byte stream. */
export interface ByteFilter {
  /**
   * Filters the next chunk. The result may lag behind the input by a few bytes (held for the
   * next call); `final` flushes them.
   */
  process(chunk: Uint8Array, final: boolean): Uint8Array;
}

/**
 * Converts what it can of `data` in place; returns how many leading bytes are final.
 * `pos` is the stream offset of `data[0]`.
 */
type Converter = (data: Uint8Array, pos: number) => number;

/** Runs a converter over a stream, carrying the bytes it could not finish into the next call. */
class BranchFilter implements ByteFilter {
  readonly #convert: Converter;
  #pos = 0;
  #held: Uint8Array = new Uint8Array(0);

  constructor(convert: Converter) {
    this.#convert = convert;
  }

  process(chunk: Uint8Array, final: boolean): Uint8Array {
    const data = new Uint8Array(this.#held.length + chunk.length);
    data.set(this.#held);
    data.set(chunk, this.#held.length);
    let done = this.#convert(data, this.#pos);
    if (final) done = data.length;
    this.#pos += done;
    this.#held = data.slice(done);
    return data.subarray(0, done);
  }
}

const isPrefixByte = (b: number): boolean => b === 0 || b === 0xff;
/** Which earlier-opcode patterns still allow a conversion (indexed by the 3-bit history). */
const ALLOWED = [true, true, true, false, true, false, false, false];
/** Which byte of the operand the history points at (indexed by the 3-bit history). */
const HISTORY_BYTE = [0, 1, 2, 2, 3, 3, 3, 3];

/**
 * The x86 converter (`BCJ`): the 32-bit operands of `E8` (call) and `E9` (jmp) whose top byte is
 * 0x00 or 0xFF hold absolute targets; they are made relative again. A 3-bit history of recent
 * `E8`/`E9` bytes decides, as the encoder did, which candidates overlap earlier ones and are left
 * alone.
 */
export function x86Filter(): ByteFilter {
  let history = 0;
  return new BranchFilter((data, pos) => {
    const size = data.length;
    if (size < 5) return 0;
    const limit = size - 4;
    let mask = history;
    let prev = -1;
    let i = 0;
    for (;;) {
      while (i < limit && ((data[i] as number) & 0xfe) !== 0xe8) i++;
      if (i >= limit) break;
      const gap = i - prev;
      if (gap > 3) mask = 0;
      else {
        mask = (mask << (gap - 1)) & 7;
        if (mask !== 0) {
          const b = data[i + 4 - (HISTORY_BYTE[mask] as number)] as number;
          if (!ALLOWED[mask] || isPrefixByte(b)) {
            prev = i;
            mask = ((mask << 1) & 7) | 1;
            i++;
            continue;
          }
        }
      }
      prev = i;
      if (!isPrefixByte(data[i + 4] as number)) {
        mask = ((mask << 1) & 7) | 1;
        i++;
        continue;
      }
      let operand =
        ((data[i + 1] as number) |
          ((data[i + 2] as number) << 8) |
          ((data[i + 3] as number) << 16) |
          ((data[i + 4] as number) << 24)) >>>
        0;
      let target: number;
      for (;;) {
        target = (operand - (pos + i + 5)) >>> 0;
        if (mask === 0) break;
        const shift = (HISTORY_BYTE[mask] as number) * 8;
        if (!isPrefixByte((target >>> (24 - shift)) & 0xff)) break;
        operand = (target ^ ((1 << (32 - shift)) - 1)) >>> 0;
      }
      data[i + 4] = (target >>> 24) & 1 ? 0xff : 0;
      data[i + 3] = (target >>> 16) & 0xff;
      data[i + 2] = (target >>> 8) & 0xff;
      data[i + 1] = target & 0xff;
      i += 5;
    }
    const gap = i - prev;
    history = gap > 3 ? 0 : (mask << (gap - 1)) & 7;
    return i;
  });
}

/** ARM (little-endian) `BL`: 24-bit word offsets. */
export function armFilter(): ByteFilter {
  return new BranchFilter((data, pos) => {
    let i = 0;
    for (; i + 4 <= data.length; i += 4) {
      if (data[i + 3] !== 0xeb) continue;
      const operand = ((data[i + 2] as number) << 16) | ((data[i + 1] as number) << 8) | (data[i] as number);
      const target = ((operand * 4 - (pos + i + 8)) >>> 2) & 0xffffff;
      data[i + 2] = (target >>> 16) & 0xff;
      data[i + 1] = (target >>> 8) & 0xff;
      data[i] = target & 0xff;
    }
    return i;
  });
}

/** ARM Thumb `BL` pairs: 22-bit half-word offsets split over two 16-bit instructions. */
export function armThumbFilter(): ByteFilter {
  return new BranchFilter((data, pos) => {
    let i = 0;
    for (; i + 4 <= data.length; i += 2) {
      if (((data[i + 1] as number) & 0xf8) !== 0xf0 || ((data[i + 3] as number) & 0xf8) !== 0xf8) continue;
      const operand =
        (((data[i + 1] as number) & 7) << 19) |
        ((data[i] as number) << 11) |
        (((data[i + 3] as number) & 7) << 8) |
        (data[i + 2] as number);
      const target = (operand * 2 - (pos + i + 4)) >>> 1;
      data[i + 1] = 0xf0 | ((target >>> 19) & 7);
      data[i] = (target >>> 11) & 0xff;
      data[i + 3] = 0xf8 | ((target >>> 8) & 7);
      data[i + 2] = target & 0xff;
      i += 2;
    }
    return i;
  });
}

/** PowerPC (big-endian) `bl`: 24-bit word offsets with the AA/LK bits kept. */
export function ppcFilter(): ByteFilter {
  return new BranchFilter((data, pos) => {
    let i = 0;
    for (; i + 4 <= data.length; i += 4) {
      if ((data[i] as number) >>> 2 !== 0x12 || ((data[i + 3] as number) & 3) !== 1) continue;
      const operand =
        (((data[i] as number) & 3) << 24) |
        ((data[i + 1] as number) << 16) |
        ((data[i + 2] as number) << 8) |
        ((data[i + 3] as number) & 0xfc);
      const target = (operand - (pos + i)) >>> 0;
      data[i] = 0x48 | ((target >>> 24) & 3);
      data[i + 1] = (target >>> 16) & 0xff;
      data[i + 2] = (target >>> 8) & 0xff;
      data[i + 3] = (((data[i + 3] as number) & 3) | target) & 0xff;
    }
    return i;
  });
}

/** SPARC `call`: 30-bit word offsets (only those that fit in 22 bits are converted). */
export function sparcFilter(): ByteFilter {
  return new BranchFilter((data, pos) => {
    let i = 0;
    for (; i + 4 <= data.length; i += 4) {
      const b0 = data[i] as number;
      const b1 = data[i + 1] as number;
      if (!((b0 === 0x40 && (b1 & 0xc0) === 0) || (b0 === 0x7f && (b1 & 0xc0) === 0xc0))) continue;
      const word = ((b0 << 24) | (b1 << 16) | ((data[i + 2] as number) << 8) | (data[i + 3] as number)) >>> 0;
      let target = (((word << 2) >>> 0) - (pos + i)) >>> 0;
      target >>>= 2;
      target = (((-((target >>> 22) & 1) << 22) & 0x3fffffff) | (target & 0x3fffff) | 0x40000000) >>> 0;
      data[i] = target >>> 24;
      data[i + 1] = (target >>> 16) & 0xff;
      data[i + 2] = (target >>> 8) & 0xff;
      data[i + 3] = target & 0xff;
    }
    return i;
  });
}

/**
 * Delta: each byte was stored as its difference from the byte `distance` earlier.
 * @param distance - 1 to 256 (the coder's property byte + 1)
 */
export function deltaFilter(distance: number): ByteFilter {
  const history = new Uint8Array(256);
  let at = 0;
  return {
    process(chunk: Uint8Array): Uint8Array {
      const out = new Uint8Array(chunk.length);
      for (let i = 0; i < chunk.length; i++) {
        const b = ((chunk[i] as number) + (history[(at - distance) & 0xff] as number)) & 0xff;
        history[at & 0xff] = b;
        at = (at + 1) & 0xff;
        out[i] = b;
      }
      return out;
    },
  };
}
