/**
 * An LZ4 frame decoder written for modelgate, from the LZ4 frame and block format descriptions,
 * made to accept and refuse what liblz4 1.9.4's `LZ4F_decompress` (python-lz4's `lz4.frame`,
 * hence joblib's `compress='lz4'`) accepts and refuses.
 *
 * It reads: frames (magic 0x184D2204; FLG/BD with version 01 and every reserved bit 0, a block
 * size id of 4–7, the header checksum HC, the optional content size and dictionary id), skippable
 * frames (0x184D2A50–0x184D2A5F, skipped), blocks (stored or compressed, at most the frame's block
 * maximum, each with its xxHash32 when the frame says so), the EndMark, the declared content size
 * and the content checksum. Frames follow one another as Python's `LZ4FrameFile` reads them (a new
 * decompressor on whatever follows a frame); bytes after the last frame that start no frame are
 * left unconsumed and counted out of `bytesWritten`, so callers can report them (`LZ4FrameFile`
 * raises on them once it reads that far; joblib may have unpickled by then). No dictionary is
 * ever supplied (joblib has none): a frame naming one is decoded without, as liblz4 does then.
 *
 * Blocks are decoded with liblz4's own parsing limits (`LZ4_decompress_generic` in its safe,
 * full-block mode with the fast loop of x86-64 builds): which sequences may end near the end of
 * the input or of the block maximum depends there on which of its loops reads them, and the loops
 * are followed here step for step, so a block liblz4 refuses is refused. Two deliberate
 * differences: an offset of 0 (liblz4 1.9.4 copies zeros) is refused; and a short match of a
 * linked block that reaches into earlier blocks and ends within 5 bytes of the block maximum is
 * accepted, as liblz4 accepts it when it keeps the history as a prefix of its output (it refuses
 * it when it keeps an external dictionary, which depends on the caller's buffer sizes).
 *
 * Why hand-written: the decoder must stop at the output budget (it is a {@link PacedTransform}:
 * one block per step, and no step while unread output waits), must check every field liblz4
 * checks (a lenient decoder would show content the loader never produces), and must say where
 * the frames end. It holds the unconsumed input, one block and the 64 KiB window of linked blocks.
 * @module
 */
import type { Duplex } from "node:stream";
import { ModelgateError } from "../../core/errors.js";
import { PacedTransform } from "./paced.js";

const FRAME_MAGIC = 0x184d2204;
const SKIPPABLE_MAGIC = 0x184d2a50;
const WINDOW = 64 * 1024;
const OUTPUT_CHUNK = 64 * 1024;
/** Block maxima by block size id (4–7). */
const BLOCK_MAX: Record<number, number> = { 4: 64 * 1024, 5: 256 * 1024, 6: 1024 * 1024, 7: 4 * 1024 * 1024 };

function malformed(message: string): ModelgateError {
  return new ModelgateError("MALFORMED", `lz4: ${message}`);
}

function truncated(message: string): ModelgateError {
  return new ModelgateError("TRUNCATED", `lz4: ${message}`);
}

const P1 = 2654435761;
const P2 = 2246822519;
const P3 = 3266489917;
const P4 = 668265263;
const P5 = 374761393;

const rotl = (x: number, r: number): number => (x << r) | (x >>> (32 - r));
const u32le = (b: Uint8Array, i: number): number =>
  ((b[i] as number) | ((b[i + 1] as number) << 8) | ((b[i + 2] as number) << 16) | ((b[i + 3] as number) << 24)) >>> 0;
const round = (acc: number, lane: number): number => Math.imul(rotl((acc + Math.imul(lane, P2)) | 0, 13), P1);

/** Streaming xxHash32 (the LZ4 frame format's checksum). */
export class Xxh32 {
  #v1: number;
  #v2: number;
  #v3: number;
  #v4: number;
  readonly #seed: number;
  #total = 0;
  readonly #tail = new Uint8Array(16);
  #tailLength = 0;

  constructor(seed = 0) {
    this.#seed = seed >>> 0;
    this.#v1 = (this.#seed + P1 + P2) | 0;
    this.#v2 = (this.#seed + P2) | 0;
    this.#v3 = this.#seed | 0;
    this.#v4 = (this.#seed - P1) | 0;
  }

  /** Adds bytes to the hash. */
  update(bytes: Uint8Array): this {
    this.#total += bytes.length;
    let i = 0;
    if (this.#tailLength > 0) {
      const n = Math.min(16 - this.#tailLength, bytes.length);
      this.#tail.set(bytes.subarray(0, n), this.#tailLength);
      this.#tailLength += n;
      i = n;
      if (this.#tailLength < 16) return this;
      this.#stripe(this.#tail, 0);
      this.#tailLength = 0;
    }
    for (; i + 16 <= bytes.length; i += 16) this.#stripe(bytes, i);
    if (i < bytes.length) {
      this.#tail.set(bytes.subarray(i), 0);
      this.#tailLength = bytes.length - i;
    }
    return this;
  }

  #stripe(b: Uint8Array, i: number): void {
    this.#v1 = round(this.#v1, u32le(b, i));
    this.#v2 = round(this.#v2, u32le(b, i + 4));
    this.#v3 = round(this.#v3, u32le(b, i + 8));
    this.#v4 = round(this.#v4, u32le(b, i + 12));
  }

  /** The hash of everything added so far (unsigned). */
  digest(): number {
    let h =
      this.#total >= 16
        ? (rotl(this.#v1, 1) + rotl(this.#v2, 7) + rotl(this.#v3, 12) + rotl(this.#v4, 18)) | 0
        : (this.#seed + P5) | 0;
    h = (h + this.#total) | 0; // the length modulo 2^32
    const t = this.#tail;
    let i = 0;
    for (; i + 4 <= this.#tailLength; i += 4) h = Math.imul(rotl((h + Math.imul(u32le(t, i), P3)) | 0, 17), P4);
    for (; i < this.#tailLength; i++) h = Math.imul(rotl((h + Math.imul(t[i] as number, P5)) | 0, 11), P1);
    h = Math.imul(h ^ (h >>> 15), P2);
    h = Math.imul(h ^ (h >>> 13), P3);
    return (h ^ (h >>> 16)) >>> 0;
  }
}

/** xxHash32 of `bytes` with `seed` (unsigned). */
export function xxh32(bytes: Uint8Array, seed = 0): number {
  return new Xxh32(seed).update(bytes).digest();
}

/**
 * Decodes one compressed block of `src` into `win` at `dst`, as liblz4 1.9.4's
 * `LZ4_decompress_generic` does in safe full-block mode with a capacity of `capacity` (the frame's
 * block maximum) and `history` bytes of earlier output of the frame before `dst`. Returns the
 * decoded length; throws MALFORMED where liblz4 fails (and on an offset of 0).
 */
export function decodeLz4Block(
  src: Uint8Array,
  win: Uint8Array,
  dst: number,
  history: number,
  capacity: number,
): number {
  const n = src.length;
  const oend = capacity;
  let ip = 0;
  let op = 0;
  // liblz4 starts in its fast loop when at least 64 bytes of capacity remain (always, here: the
  // smallest block maximum is 64 KiB) and leaves it for good at its first jump into the safe loop.
  let fast = oend >= 64;

  const fail = (why: string): never => {
    throw malformed(`corrupt block (${why})`);
  };
  /** `read_variable_length`: 255-continued length bytes; fails once `ip` passes `limit`. */
  const readLength = (limit: number, initialCheck: boolean): number => {
    if (initialCheck && ip >= limit) fail("length past the input");
    let length = 0;
    let s: number;
    do {
      if (ip >= n) fail("length past the input");
      s = src[ip++] as number;
      length += s;
      if (ip > limit) fail("length past the input");
    } while (s === 255);
    return length;
  };
  const copyLiterals = (length: number): void => {
    win.set(src.subarray(ip, ip + length), dst + op);
    ip += length;
    op += length;
  };
  const readOffset = (): number => {
    const offset = (src[ip] as number) | ((src[ip + 1] as number) << 8);
    ip += 2;
    return offset;
  };
  const checkOffset = (offset: number): void => {
    if (offset === 0) fail("offset 0");
    if (offset > op + history) fail(`offset ${offset} before the start of the output`);
  };
  const copyMatch = (offset: number, length: number): void => {
    const to = dst + op;
    const from = to - offset;
    if (offset >= length) win.copyWithin(to, from, from + length);
    else for (let k = 0; k < length; k++) win[to + k] = win[from + k] as number;
    op += length;
  };

  for (;;) {
    if (ip >= n) fail("no token"); // cannot happen: every path leaves a byte for the next token
    const token = src[ip++] as number;
    let literals = token >>> 4;
    let offset = 0;
    let matchLength = token & 15;
    /** Where this sequence goes on: liblz4's `safe_literal_copy`, `_copy_match`, `safe_match_copy`. */
    let step: "literals" | "match" | "match-copy";
    if (fast) {
      if (literals === 15) {
        literals += readLength(n - 15, true);
        if (op + literals > oend - 32 || ip + literals > n - 32) {
          fast = false;
          step = "literals";
        } else step = "match";
      } else if (ip > n - 17) {
        fast = false;
        step = "literals";
      } else step = "match";
      if (step === "match") {
        copyLiterals(literals);
        offset = readOffset();
        if (matchLength === 15) {
          matchLength += readLength(n - 4, false) + 4;
          checkOffset(offset);
        } else matchLength += 4;
        if (op + matchLength >= oend - 64) {
          fast = false;
          step = "match-copy";
        } else {
          checkOffset(offset);
          copyMatch(offset, matchLength);
          continue;
        }
      }
    } else if (literals !== 15 && ip < n - 16 && op <= oend - 32) {
      // the safe loop's shortcut: no parsing limit on where these literals end, and a short
      // match of offset ≥ 8 is copied with no check against the end of the block
      copyLiterals(literals);
      offset = readOffset();
      if (matchLength !== 15 && offset >= 8 && offset <= op + history) {
        copyMatch(offset, matchLength + 4);
        continue;
      }
      step = "match";
    } else {
      if (literals === 15) literals += readLength(n - 15, true);
      step = "literals";
    }

    if (step === "literals") {
      if (op + literals > oend - 12 || ip + literals > n - 8) {
        // the last sequence: its literals end the input exactly
        if (ip + literals !== n) fail("the last literals do not end the block");
        if (op + literals > oend) fail("output past the block maximum");
        copyLiterals(literals);
        return op;
      }
      copyLiterals(literals);
      offset = readOffset();
      step = "match";
    }
    if (step === "match") {
      if (matchLength === 15) matchLength += readLength(n - 4, false);
      matchLength += 4;
    }
    // safe_match_copy
    checkOffset(offset);
    if (op + matchLength > oend - 5) fail("a match in the last 5 bytes of the block maximum");
    copyMatch(offset, matchLength);
  }
}

interface FrameState {
  readonly linked: boolean;
  readonly blockChecksum: boolean;
  readonly contentChecksum: Xxh32 | undefined;
  /** Declared content size (0: none, or declared as 0, which liblz4 does not check). */
  readonly contentSize: bigint;
  readonly blockMax: number;
  /** Content bytes decoded in this frame. */
  produced: number;
}

/** A growable byte queue: appends at the end, consumes from the front. */
class ByteQueue {
  #bytes = new Uint8Array(64 * 1024);
  #start = 0;
  #end = 0;

  get length(): number {
    return this.#end - this.#start;
  }

  view(): Uint8Array {
    return this.#bytes.subarray(this.#start, this.#end);
  }

  push(chunk: Uint8Array): void {
    if (this.#end + chunk.length > this.#bytes.length) {
      const live = this.length;
      if (live + chunk.length > this.#bytes.length) {
        const next = new Uint8Array((live + chunk.length) * 2);
        next.set(this.view());
        this.#bytes = next;
      } else this.#bytes.copyWithin(0, this.#start, this.#end);
      this.#start = 0;
      this.#end = live;
    }
    this.#bytes.set(chunk, this.#end);
    this.#end += chunk.length;
  }

  consume(n: number): void {
    this.#start += n;
    if (this.#start === this.#end) {
      this.#start = 0;
      this.#end = 0;
      // a large block's buffer is not kept once it is used up
      if (this.#bytes.length > 1024 * 1024) this.#bytes = new Uint8Array(64 * 1024);
    }
  }
}

/**
 * A streaming LZ4 frame decoder (node Transform). `bytesWritten` is the number of input bytes that
 * belonged to frames (and skippable frames) once the stream has ended.
 * @internal
 */
export class UnLz4 extends PacedTransform {
  /** Input bytes consumed by frames (set when the input ends). */
  bytesWritten = 0;
  readonly #input = new ByteQueue();
  /** Input bytes consumed so far. */
  #consumed = 0;
  #state: "magic" | "skip" | "block" | "suffix" = "magic";
  #frame: FrameState | undefined;
  #skipLeft = 0;
  /** Frames (and skippable frames) read to their end. */
  #frames = 0;
  #trailing = false;
  /** The linked blocks' window (its first `#history` bytes) then room for one block. */
  #window: Uint8Array | undefined;
  #history = 0;

  constructor() {
    super({ readableHighWaterMark: OUTPUT_CHUNK });
  }

  protected override takeInput(chunk: Uint8Array): void {
    if (this.#trailing) return;
    if (this.#state === "skip" && this.#input.length === 0) {
      // a skippable frame's content is never buffered
      const n = Math.min(this.#skipLeft, chunk.length);
      this.#skipLeft -= n;
      this.#consumed += n;
      chunk = chunk.subarray(n);
    }
    if (chunk.length > 0) this.#input.push(chunk);
  }

  protected override decodeSome(final: boolean): boolean {
    for (;;) {
      if (this.#trailing) return true;
      const step = this.#step(final);
      if (step === "need-input") return true;
      if (step === "block" && this.outputFull) return false;
    }
  }

  protected override checkEnd(): void {
    if (this.#frames === 0) throw malformed("not an lz4 frame");
    if (this.#state !== "magic" && !this.#trailing) throw truncated("frame is truncated");
  }

  #consume(n: number): void {
    this.#input.consume(n);
    this.#consumed += n;
  }

  #endAt(trailing: boolean): void {
    this.#trailing = trailing;
    this.bytesWritten = this.#consumed;
  }

  /** One structure: returns what it read, or "need-input" (throws TRUNCATED when `final`). */
  #step(final: boolean): "need-input" | "header" | "block" | "end" {
    const buf = this.#input.view();
    const need = (n: number, what: string): boolean => {
      if (buf.length >= n) return true;
      if (final) throw truncated(`${what} is truncated`);
      return false;
    };
    switch (this.#state) {
      case "magic": {
        if (buf.length < 4) {
          if (!final) return "need-input";
          if (this.#frames === 0) throw malformed("not an lz4 frame");
          this.#endAt(buf.length > 0);
          return "need-input";
        }
        const magic = u32le(buf, 0);
        if (magic === FRAME_MAGIC) {
          if (!need(7, "frame header")) return "need-input";
          return this.#frameHeader(buf, final);
        }
        if ((magic & 0xfffffff0) >>> 0 === SKIPPABLE_MAGIC) {
          if (!need(8, "skippable frame header")) return "need-input";
          this.#skipLeft = u32le(buf, 4);
          this.#consume(8);
          this.#state = "skip";
          return "header";
        }
        if (this.#frames === 0) throw malformed("not an lz4 frame");
        this.#endAt(true);
        return "end";
      }
      case "skip": {
        const n = Math.min(this.#skipLeft, buf.length);
        this.#consume(n);
        this.#skipLeft -= n;
        if (this.#skipLeft > 0) {
          if (final) throw truncated("skippable frame is truncated");
          return "need-input";
        }
        this.#frames++;
        this.#state = "magic";
        return "end";
      }
      case "block":
        return this.#block(buf, final);
      case "suffix": {
        const frame = this.#frame as FrameState;
        if (frame.contentSize !== 0n && BigInt(frame.produced) !== frame.contentSize) {
          throw malformed(`frame holds ${frame.produced} bytes, its header declares ${frame.contentSize}`);
        }
        if (frame.contentChecksum !== undefined) {
          if (!need(4, "content checksum")) return "need-input";
          if (u32le(buf, 0) !== frame.contentChecksum.digest()) throw malformed("content checksum mismatch");
          this.#consume(4);
        }
        this.#frames++;
        this.#frame = undefined;
        this.#state = "magic";
        return "end";
      }
    }
  }

  #frameHeader(buf: Uint8Array, final: boolean): "need-input" | "header" {
    const flg = buf[4] as number;
    if (flg & 0x02) throw malformed("reserved FLG bit set");
    if (flg >>> 6 !== 1) throw malformed(`unsupported frame version ${flg >>> 6}`);
    const hasSize = (flg & 0x08) !== 0;
    const hasDict = (flg & 0x01) !== 0;
    const headerLength = 7 + (hasSize ? 8 : 0) + (hasDict ? 4 : 0);
    if (buf.length < headerLength) {
      if (final) throw truncated("frame header is truncated");
      return "need-input";
    }
    const bd = buf[5] as number;
    if (bd & 0x80 || bd & 0x0f) throw malformed("reserved BD bits set");
    const blockMax = BLOCK_MAX[(bd >>> 4) & 7];
    if (blockMax === undefined) throw malformed(`invalid block maximum id ${(bd >>> 4) & 7}`);
    const hc = (xxh32(buf.subarray(4, headerLength - 1)) >>> 8) & 0xff;
    if (hc !== buf[headerLength - 1]) throw malformed("header checksum mismatch");
    const contentSize = hasSize ? new DataView(buf.buffer, buf.byteOffset + 6, 8).getBigUint64(0, true) : 0n;
    this.#frame = {
      linked: (flg & 0x20) === 0,
      blockChecksum: (flg & 0x10) !== 0,
      contentChecksum: flg & 0x04 ? new Xxh32() : undefined,
      contentSize,
      blockMax,
      produced: 0,
    };
    if (this.#window === undefined || this.#window.length !== WINDOW + blockMax) {
      this.#window = new Uint8Array(WINDOW + blockMax);
    }
    this.#history = 0;
    this.#consume(headerLength);
    this.#state = "block";
    return "header";
  }

  #block(buf: Uint8Array, final: boolean): "need-input" | "block" | "end" {
    const frame = this.#frame as FrameState;
    if (buf.length < 4) {
      if (final) throw truncated("block header is truncated");
      return "need-input";
    }
    const header = u32le(buf, 0);
    if (header === 0) {
      // EndMark (only 0: 0x80000000 is an empty stored block)
      this.#consume(4);
      this.#state = "suffix";
      return "end";
    }
    const size = header & 0x7fffffff;
    if (size > frame.blockMax) throw malformed(`block of ${size} bytes over the frame's maximum of ${frame.blockMax}`);
    const total = 4 + size + (frame.blockChecksum ? 4 : 0);
    const stored = header >>> 31 === 1;
    if (buf.length < total) {
      if (!final) return "need-input";
      // liblz4 copies a stored block to its output as it arrives, before the block (or its
      // checksum) is complete: that part reaches the reader before the error
      if (stored) this.#emitStored(buf.subarray(4, Math.min(buf.length, 4 + size)));
      throw truncated("block is truncated");
    }
    const data = buf.subarray(4, 4 + size);
    if (frame.blockChecksum && u32le(buf, 4 + size) !== xxh32(data)) {
      if (stored) this.#emitStored(data); // copied out before liblz4 checks the checksum
      throw malformed("block checksum mismatch");
    }
    const win = this.#window as Uint8Array;
    const dst = frame.linked ? this.#history : 0;
    let length: number;
    if (stored) {
      win.set(data, dst);
      length = size;
    } else {
      length = decodeLz4Block(data, win, dst, frame.linked ? this.#history : 0, frame.blockMax);
    }
    const out = win.subarray(dst, dst + length);
    frame.contentChecksum?.update(out);
    frame.produced += length;
    if (frame.contentSize !== 0n && BigInt(frame.produced) > frame.contentSize) {
      throw malformed(`frame holds more than the ${frame.contentSize} bytes its header declares`);
    }
    for (let at = 0; at < length; at += OUTPUT_CHUNK) this.push(out.slice(at, Math.min(length, at + OUTPUT_CHUNK)));
    if (frame.linked) {
      const end = dst + length;
      if (end > WINDOW) {
        win.copyWithin(0, end - WINDOW, end);
        this.#history = WINDOW;
      } else this.#history = end;
    }
    this.#consume(total);
    return "block";
  }

  /** Pushes the part of a stored block that arrived before an error (the error follows). */
  #emitStored(data: Uint8Array): void {
    for (let at = 0; at < data.length; at += OUTPUT_CHUNK)
      this.push(data.slice(at, Math.min(data.length, at + OUTPUT_CHUNK)));
  }
}

/**
 * Creates a streaming LZ4 frame decoder: write compressed bytes, read decompressed ones. Its
 * `bytesWritten` property holds the input bytes that belonged to frames once it has ended.
 */
export function createUnLz4(): Duplex {
  return new UnLz4();
}
