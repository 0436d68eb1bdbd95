/**
 * The bytes CPython's C unpickler consumes when it reads from a file object without `peek`
 * (`io.BytesIO`, what `pickle.load(BytesIO(...))` and `torch.load(BytesIO(...))` hand it).
 *
 * With `pickle.loads`, or a real file (which has `peek`), frames are transparent: an opcode that
 * runs past the end of its FRAME simply reads on. Without `peek`, the unpickler's buffer is exactly
 * the last thing it read from the file: a FRAME's payload, or one opcode argument. A read that does
 * not fit in what is left of the buffer drops that rest and reads afresh from the file; a text line
 * with no newline before the buffer's end does the same. So `FRAME(9) "cos\nharm"` followed by
 * `"system\n"` imports `os.system` from a BytesIO and `os.harmsystem` from `pickle.loads`.
 *
 * {@link unpeekableReading} replays that reading and returns the consumed bytes, FRAMEs left out,
 * as a plain stream the decoder reads the ordinary way; the analysis runs it when the decoder saw an
 * opcode cross a frame end (`DecodeResult.rereads`).
 * @module
 */
import { ARG_SHAPES, OP, opcodeInfo } from "./opcodes.js";

/** The consumed bytes of a reading, and where each came from. */
export interface Rereading {
  /** The bytes, in the order the unpickler used them (FRAME opcodes and lengths left out). */
  readonly bytes: Uint8Array;
  /**
   * Maps an offset in {@link Rereading.bytes} to the offset of the same byte in the input.
   * @param offset - offset in the reread bytes
   */
  sourceOffset(offset: number): number;
}

const STOP = OP.STOP as number;
const FRAME = OP.FRAME as number;
const NEWLINE = 0x0a;

/**
 * Replays the C unpickler reading `data` from a file object without `peek`, pickle after pickle
 * (a new unpickler per pickle, as `torch.load`'s legacy format or a loop of `pickle.load` does),
 * until the data ends or a read fails.
 * @param data - the stream
 * @param maxOutput - stop once this many bytes were consumed (a budget, default: the input size)
 */
export function unpeekableReading(data: Uint8Array, maxOutput = data.length): Rereading {
  // Every input byte is consumed at most once, so the output fits in the input's size. Segments
  // are (output start, input start) pairs in a typed array: a hostile stream can make one per
  // opcode, and a JS array of numbers would cost several times the input.
  const out = new Uint8Array(data.length);
  let segments = new Uint32Array(1024);
  let count = 0; // segments
  let lastEnd = -1; // input offset after the last segment
  let total = 0;
  let filePos = 0; // physical position after the last read from the file
  let bufEnd = 0; // end of what the last read from the file returned
  let idx = 0; // next byte to use in that buffer
  const take = (start: number, end: number) => {
    if (start !== lastEnd) {
      if (2 * count + 2 > segments.length) {
        const grown = new Uint32Array(segments.length * 2);
        grown.set(segments);
        segments = grown;
      }
      segments[2 * count] = total;
      segments[2 * count + 1] = start;
      count++;
    }
    out.set(data.subarray(start, end), total);
    total += end - start;
    lastEnd = end;
  };
  /** `_Unpickler_Read`: from the buffer when it fits, else `n` fresh bytes from the file. */
  const read = (n: number, emit: boolean): number | undefined => {
    if (n <= bufEnd - idx) {
      const at = idx;
      idx += n;
      if (emit) take(at, idx);
      return at;
    }
    if (filePos + n > data.length) return undefined;
    const at = filePos;
    filePos += n;
    bufEnd = filePos;
    idx = filePos;
    if (emit) take(at, filePos);
    return at;
  };
  /** `_Unpickler_Readline`: a newline in the buffer, else a whole line from the file. */
  const readline = (): boolean => {
    const inBuffer = idx < bufEnd ? data.subarray(0, bufEnd).indexOf(NEWLINE, idx) : -1;
    if (inBuffer >= 0) {
      take(idx, inBuffer + 1);
      idx = inBuffer + 1;
      return true;
    }
    const nl = data.indexOf(NEWLINE, filePos);
    if (nl < 0) return false;
    take(filePos, nl + 1);
    filePos = nl + 1;
    bufEnd = filePos;
    idx = filePos;
    return true;
  };
  const u = (at: number, width: number): number => {
    let v = 0;
    for (let i = width - 1; i >= 0; i--) v = v * 256 + (data[at + i] as number);
    return v;
  };

  outer: while (total < maxOutput && (idx < bufEnd || filePos < data.length)) {
    const at = read(1, false);
    if (at === undefined) break;
    const code = data[at] as number;
    const info = opcodeInfo(code);
    if (info === undefined) {
      take(at, at + 1); // the decoder reports the invalid key
      break;
    }
    if (code === FRAME) {
      const lenAt = read(8, false);
      if (lenAt === undefined) break;
      const frameLen = u(lenAt, 8);
      if (frameLen <= bufEnd - idx) continue; // already buffered: no read, no effect
      if (filePos + frameLen > data.length) break; // the C unpickler fails here
      filePos += frameLen;
      bufEnd = filePos;
      idx = filePos - frameLen;
      continue;
    }
    take(at, at + 1);
    const shape = ARG_SHAPES[info.arg];
    if (shape.lines > 0) {
      for (let i = 0; i < shape.lines; i++) if (!readline()) break outer;
    } else if (shape.width > 0) {
      if (read(shape.width, true) === undefined) break;
    } else if (shape.lengthBytes > 0) {
      const width = shape.lengthBytes;
      const lenAt = read(width, true);
      if (lenAt === undefined) break;
      let len = u(lenAt, width);
      if (shape.signed && len >= 2 ** (8 * width - 1)) break; // negative: an error
      if (!Number.isSafeInteger(len)) break;
      len = Math.min(len, data.length);
      if (read(len, true) === undefined) break;
    }
    if (code === STOP) {
      // the next pickle gets a new unpickler with an empty buffer: what was left of it is lost
      idx = filePos;
      bufEnd = filePos;
    }
  }

  return {
    bytes: out.subarray(0, total),
    sourceOffset(offset: number): number {
      let lo = 0;
      let hi = count - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if ((segments[2 * mid] as number) <= offset) lo = mid;
        else hi = mid - 1;
      }
      return count === 0 ? offset : (segments[2 * lo + 1] as number) + offset - (segments[2 * lo] as number);
    },
  };
}
