/**
 * The generic streaming pickle decoder: reads opcodes and their inline arguments from a
 * {@link PickleInput}, following the opcode table, and hands each one to an {@link OpSink}.
 *
 * It reads the way CPython's C unpickler reads (a FRAME only requires its bytes to exist; opcodes
 * may cross frame boundaries) and, alongside, checks the framing rules of the pure-Python
 * unpickler (`pickle._Unpickler`, used by joblib), reporting where the two would disagree.
 * Payloads larger than {@link DecoderOptions.inlineMax} are not copied: the sink gets their
 * location and first bytes, and the decoder skips them.
 * @module
 */
import { ModelgateError } from "../../core/errors.js";
import { PickleError } from "./errors.js";
import type { PickleInput } from "./input.js";
import {
  ARG_KINDS,
  HIGHEST_PROTOCOL,
  K_INVALID,
  KIND_OF,
  LENGTH_BYTES,
  OP,
  opcodeName,
  PY_SIGNED_LENGTH,
  TEXT_PAYLOAD,
} from "./opcodes.js";
import type { BlobRef } from "./values.js";

// Dispatch data derived from the opcode table (opcodes.ts). The switch in Decoder.run uses the
// kind numbers as literals, so V8 builds a jump table; opcodes.test.ts checks each `case N: //
// kind` comment against ARG_KINDS.
const K_I4 = ARG_KINDS.indexOf("i4");
const K_LINE2 = ARG_KINDS.indexOf("line2");
const K_L4 = ARG_KINDS.indexOf("long4");

const FRAME = OP.FRAME as number;
const PROTO = OP.PROTO as number;
const STOP = OP.STOP as number;

/** The decoded inline argument of the current opcode (one object, reused for every opcode). */
export class OpArg {
  /** Integer argument (u1/u2/u4/i4/u8 and counted lengths). */
  num = 0;
  /** f8 argument. */
  float = 0;
  /** Buffer holding byte/line payloads; valid only during {@link OpSink.op}. */
  buf: Uint8Array = new Uint8Array(0);
  /** Payload start in {@link OpArg.buf}. */
  start = 0;
  /** Payload end (exclusive; a line excludes its `\n`). */
  end = 0;
  /** Second line of `line2` opcodes. */
  start2 = 0;
  /** End of the second line. */
  end2 = 0;
  /** Set instead of buf/start/end when the payload was too large to copy. */
  blob: BlobRef | undefined;
}

/**
 * What the sink wants after an opcode: `Continue`; `Stop` (STOP was executed, this pickle is
 * complete); `Special` (call {@link OpSink.special}: the sink must read raw bytes that follow,
 * e.g. joblib array data).
 */
export const SinkAction = Object.freeze({ Continue: 0, Stop: 1, Special: 2 } as const);
/** One of the {@link SinkAction} values. */
export type SinkAction = (typeof SinkAction)[keyof typeof SinkAction];

/** Receives decoded opcodes. */
export interface OpSink {
  /**
   * Executes one opcode. Throws {@link PickleError} when CPython would raise.
   * @param code - opcode byte
   * @param offset - absolute offset of the opcode byte
   * @param arg - its decoded argument
   */
  op(code: number, offset: number, arg: OpArg): SinkAction;
  /**
   * Reads raw bytes that follow the current opcode (requested with the `Special` action).
   * @param input - the input, positioned after the opcode
   * @param decoder - the decoder state (for frame checks)
   */
  special(input: PickleInput, decoder: DecoderState): Promise<SinkAction>;
  /**
   * Called before the decoder's buffer changes (refill, skip) and when decoding ends.
   * @returns true when the sink still refers to bytes of {@link OpArg.buf}: the input must then
   * not reuse them (see {@link PickleInput.retain})
   */
  release?(): boolean;
}

/**
 * A sink with a fast path: it executes a stretch of simple opcodes straight from the decoder's
 * buffer, without the per-opcode {@link OpArg} hand-over. The decoder calls
 * {@link FastSink.fastRun} at opcodes flagged in {@link FastSink.fastCodes} and only over bytes
 * where no framing check is needed; the sink executes what it can do exactly as
 * {@link OpSink.op} would and leaves everything else (errors included) to `op`.
 */
export interface FastSink extends OpSink {
  /** 1 at each opcode byte the fast path may execute. */
  readonly fastCodes: Uint8Array;
  /** Opcodes executed by the last {@link FastSink.fastRun}. */
  fastOps: number;
  /** Position in the buffer of the last opcode executed by the last {@link FastSink.fastRun}. */
  fastLast: number;
  /**
   * Executes opcodes from `buf[pos]` on, each lying entirely before `stop`, at most `maxOps` of
   * them. Never throws for bad input: it stops before any opcode it cannot execute exactly.
   * @param buf - the decoder's buffer
   * @param pos - position of the first opcode
   * @param stop - no opcode may extend past this position (buffer or frame end)
   * @param maxOps - most opcodes to execute
   * @param base - absolute offset of `buf[0]`
   * @returns the position after the last opcode executed (`pos` when none was)
   */
  fastRun(buf: Uint8Array, pos: number, stop: number, maxOps: number, base: number): number;
}

function isFastSink(sink: OpSink): sink is FastSink {
  return typeof (sink as Partial<FastSink>).fastRun === "function";
}

export { PickleError } from "./errors.js";

/** A place where the C and the pure-Python unpicklers read the stream differently. */
export interface FrameDivergence {
  /** Absolute offset. */
  readonly offset: number;
  /** What differs. */
  readonly message: string;
}

/** Decoder settings and budgets. */
export interface DecoderOptions {
  /** Payloads above this many bytes are not copied (default 4 MiB). */
  inlineMax: number;
  /** How many leading bytes of a large payload are kept (default 64 KiB). */
  headBytes: number;
  /** Longest text line accepted (default 16 MiB). */
  maxLineBytes: number;
  /** Most opcodes executed in one pickle. */
  maxOpcodes: number;
  /** Called every 65,536 opcodes; throws to abort (timeouts). */
  checkpoint: (() => void) | undefined;
  /** Use the sink's fast path when it has one (default true; off only to cross-check it). */
  fastPath: boolean;
}

/** Default decoder settings. */
export const DEFAULT_DECODER_OPTIONS: Readonly<DecoderOptions> = Object.freeze({
  inlineMax: 4 << 20,
  headBytes: 64 << 10,
  maxLineBytes: 16 << 20,
  maxOpcodes: 1_000_000_000,
  checkpoint: undefined,
  fastPath: true,
});

/** Framing state shared with the sink. */
export interface DecoderState {
  /** End of the current frame (absolute), or -1 outside frames. */
  frameEnd: number;
  /** Opcodes executed so far. */
  opcodes: number;
  /** The first framing divergence seen. */
  divergence: FrameDivergence | undefined;
  /** An opcode crossed a frame end, or a FRAME started inside another (see `DecodeResult.rereads`). */
  rereads: boolean;
}

/** How a pickle ended. */
export interface DecodeResult {
  /** Absolute offset just after the last byte consumed. */
  readonly end: number;
  /** Opcodes executed. */
  readonly opcodes: number;
  /** STOP was reached. */
  readonly stopped: boolean;
  /** First framing divergence between the C and Python unpicklers, if any. */
  readonly divergence: FrameDivergence | undefined;
  /**
   * An opcode crossed a frame end or a FRAME started inside another: the C unpickler reading a file
   * object without `peek` (`io.BytesIO`) consumes other bytes than `pickle.loads` does (see
   * `unpeekable.ts`).
   */
  readonly rereads: boolean;
}

/** Result codes of the synchronous fast loop. */
const R_STOP = -2;
const R_LARGE = -1;
const R_SPECIAL = -3;

/** Decoder for one pickle: a synchronous fast loop over the buffered bytes, an async driver. */
class Decoder {
  readonly a = new OpArg();
  readonly st: DecoderState = { frameEnd: -1, opcodes: 0, divergence: undefined, rereads: false };
  readonly fast: FastSink | undefined;
  nextCheck = 65_536;

  constructor(
    readonly input: PickleInput,
    readonly sink: OpSink,
    readonly o: DecoderOptions,
  ) {
    this.fast = o.fastPath && isFastSink(sink) ? sink : undefined;
  }

  diverge(offset: number, message: string): void {
    this.st.divergence ??= { offset, message };
  }

  /**
   * Python's _Unframer: each read part of an opcode must lie entirely inside the current frame
   * or start at or after its end (the frame is then over and reads go to the file).
   * @param bounds - absolute offsets: start of the opcode, then the end of each read part
   */
  frameParts(code: number, bounds: readonly number[]): void {
    const st = this.st;
    for (let i = 0; i + 1 < bounds.length && st.frameEnd >= 0; i++) {
      const s = bounds[i] as number;
      const e = bounds[i + 1] as number;
      if (s >= st.frameEnd) st.frameEnd = -1;
      else if (e > st.frameEnd) {
        st.rereads = true;
        this.diverge(
          s,
          `${opcodeName(code)} reads across the end of its FRAME at ${st.frameEnd}: the Python unpickler raises "pickle exhausted before end of frame", the C unpickler reads on`,
        );
        st.frameEnd = -1;
      }
    }
  }

  /**
   * Runs opcodes while their bytes are buffered.
   * @returns bytes needed to go on (> 0), or one of the R_* codes
   */
  run(): number {
    const input = this.input;
    const a = this.a;
    const sink = this.sink;
    const st = this.st;
    const o = this.o;
    const buf = input.buf;
    const end = input.end;
    const base = input.base;
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let pos = input.pos;
    let frameEnd = st.frameEnd;
    let opcodes = st.opcodes;
    const fast = this.fast;
    const fastCodes = fast?.fastCodes;
    a.buf = buf; // payload offsets below are into this buffer
    for (;;) {
      const avail = end - pos;
      if (avail < 1) {
        input.pos = pos;
        st.frameEnd = frameEnd;
        st.opcodes = opcodes;
        return 1;
      }
      const code = buf[pos] as number;
      if (fastCodes !== undefined && fastCodes[code] === 1) {
        // An opcode at or after the frame end ends the frame (as frameParts would); opcodes that
        // end before the frame end need no framing check.
        if (frameEnd >= 0 && base + pos >= frameEnd) frameEnd = -1;
        const stop = frameEnd >= 0 && frameEnd - base < end ? frameEnd - base : end;
        const maxOps = this.nextCheck - opcodes;
        if (stop > pos && maxOps > 0) {
          const next = (fast as FastSink).fastRun(buf, pos, stop, maxOps, base);
          if (next !== pos) {
            pos = next;
            opcodes += (fast as FastSink).fastOps;
            if (opcodes >= this.nextCheck) {
              input.pos = pos;
              st.frameEnd = frameEnd;
              st.opcodes = opcodes;
              this.budget(base + (fast as FastSink).fastLast);
            }
            continue;
          }
        }
      }
      const kind = KIND_OF[code] as number;
      let width = 1;
      let split = 0; // end of the first read part when the opcode reads in two parts
      switch (kind) {
        case 0: // none
          break;
        case 1: // u1
          if (avail < 2) {
            input.pos = pos;
            st.frameEnd = frameEnd;
            st.opcodes = opcodes;
            return 2;
          }
          a.num = buf[pos + 1] as number;
          width = 2;
          break;
        case 2: // u2
          if (avail < 3) {
            input.pos = pos;
            st.frameEnd = frameEnd;
            st.opcodes = opcodes;
            return 3;
          }
          a.num = (buf[pos + 1] as number) | ((buf[pos + 2] as number) << 8);
          width = 3;
          break;
        case 3: // u4
        case 5: {
          // i4
          if (avail < 5) {
            input.pos = pos;
            st.frameEnd = frameEnd;
            st.opcodes = opcodes;
            return 5;
          }
          const v =
            (buf[pos + 1] as number) |
            ((buf[pos + 2] as number) << 8) |
            ((buf[pos + 3] as number) << 16) |
            ((buf[pos + 4] as number) << 24);
          a.num = kind === K_I4 ? v : v >>> 0;
          width = 5;
          break;
        }
        case 4: // u8
          if (avail < 9) {
            input.pos = pos;
            st.frameEnd = frameEnd;
            st.opcodes = opcodes;
            return 9;
          }
          a.num = u64(buf, pos + 1);
          width = 9;
          break;
        case 6: // f8
          if (avail < 9) {
            input.pos = pos;
            st.frameEnd = frameEnd;
            st.opcodes = opcodes;
            return 9;
          }
          a.float = view.getFloat64(pos + 1, false);
          width = 9;
          break;
        case 7: // line
        case 8: {
          // line2
          const nl = indexOfNewline(buf, pos + 1, end);
          if (nl < 0) {
            input.pos = pos;
            st.frameEnd = frameEnd;
            st.opcodes = opcodes;
            return avail + Math.max(avail, 65_536);
          }
          a.start = pos + 1;
          a.end = nl;
          width = nl + 1 - pos;
          if (kind === K_LINE2) {
            const nl2 = indexOfNewline(buf, nl + 1, end);
            if (nl2 < 0) {
              input.pos = pos;
              st.frameEnd = frameEnd;
              st.opcodes = opcodes;
              return avail + Math.max(avail, 65_536);
            }
            a.start2 = nl + 1;
            a.end2 = nl2;
            split = nl + 1 - pos;
            width = nl2 + 1 - pos;
          }
          if (width > o.maxLineBytes) {
            throw new PickleError(
              `${opcodeName(code)} line longer than ${o.maxLineBytes} bytes`,
              base + pos,
              "budget",
              "maxLineBytes",
            );
          }
          break;
        }
        case 9: // counted1
        case 12: {
          // long1
          if (avail < 2) {
            input.pos = pos;
            st.frameEnd = frameEnd;
            st.opcodes = opcodes;
            return 2;
          }
          const len = buf[pos + 1] as number;
          if (avail < 2 + len) {
            input.pos = pos;
            st.frameEnd = frameEnd;
            st.opcodes = opcodes;
            return 2 + len;
          }
          a.num = len;
          a.start = pos + 2;
          a.end = pos + 2 + len;
          split = 2;
          width = 2 + len;
          break;
        }
        case 10: // counted4
        case 11: // counted8
        case 13: {
          // long4
          const lw = LENGTH_BYTES[code] as number;
          if (avail < 1 + lw) {
            input.pos = pos;
            st.frameEnd = frameEnd;
            st.opcodes = opcodes;
            return 1 + lw;
          }
          let len: number;
          if (lw === 8) len = u64(buf, pos + 1);
          else {
            const v =
              (buf[pos + 1] as number) |
              ((buf[pos + 2] as number) << 8) |
              ((buf[pos + 3] as number) << 16) |
              ((buf[pos + 4] as number) << 24);
            len = kind === K_L4 ? v : v >>> 0;
            if (kind === K_L4 && len < 0) throw new PickleError("LONG pickle has negative byte count", base + pos);
            if (PY_SIGNED_LENGTH[code] === 1 && v < 0) {
              this.diverge(
                base + pos,
                `${opcodeName(code)} length above 2**31: pickle.py rejects it as negative, the C unpickler reads it unsigned`,
              );
            }
          }
          if (!Number.isSafeInteger(len)) {
            throw new PickleError(`${opcodeName(code)} length exceeds the maximum size`, base + pos);
          }
          a.num = len;
          if (len > o.inlineMax) {
            input.pos = pos;
            st.frameEnd = frameEnd;
            st.opcodes = opcodes;
            return R_LARGE;
          }
          if (avail < 1 + lw + len) {
            input.pos = pos;
            st.frameEnd = frameEnd;
            st.opcodes = opcodes;
            return 1 + lw + len;
          }
          a.start = pos + 1 + lw;
          a.end = pos + 1 + lw + len;
          split = 1 + lw;
          width = 1 + lw + len;
          break;
        }
        default:
          input.pos = pos;
          st.frameEnd = frameEnd;
          st.opcodes = opcodes;
          throw new PickleError(invalidKey(code), base + pos);
      }
      const offset = base + pos;
      if (frameEnd >= 0 && offset + width > frameEnd) {
        // Only opcodes that reach the frame end need the detailed check.
        const parts = [offset, offset + 1];
        if (split > 0) parts.push(offset + split);
        if (width > 1 && offset + width !== parts[parts.length - 1]) parts.push(offset + width);
        st.frameEnd = frameEnd;
        this.frameParts(code, parts);
        frameEnd = st.frameEnd;
      }
      pos += width;
      if (code === FRAME) {
        if (frameEnd >= 0 && offset < frameEnd) {
          st.rereads = true;
          this.diverge(
            offset,
            "FRAME starts before the current frame ends: the Python unpickler raises, the C unpickler reads on",
          );
        }
        frameEnd = offset + width + a.num;
        if (input.size !== undefined && frameEnd > input.size) {
          this.diverge(offset, `FRAME announces ${a.num} bytes but the input ends first: the C unpickler fails here`);
        }
      } else if (code === PROTO && a.num > HIGHEST_PROTOCOL) {
        input.pos = pos;
        st.frameEnd = frameEnd;
        throw new PickleError(`unsupported pickle protocol: ${a.num}`, offset);
      }
      // a STOP with frame bytes left: a new unpickler on a file without peek (io.BytesIO) or the
      // pure-Python one starts after the frame; one on a file with peek right after the STOP
      if (code === STOP && frameEnd > offset + 1) st.rereads = true;
      const act = sink.op(code, offset, a);
      if (++opcodes >= this.nextCheck) {
        input.pos = pos;
        st.frameEnd = frameEnd;
        st.opcodes = opcodes;
        this.budget(offset);
      }
      if (act !== 0) {
        input.pos = pos;
        st.frameEnd = frameEnd;
        st.opcodes = opcodes;
        return act === SinkAction.Stop ? R_STOP : R_SPECIAL;
      }
    }
  }

  budget(offset: number): void {
    this.nextCheck += 65_536;
    if (this.st.opcodes > this.o.maxOpcodes) {
      throw new PickleError(`more than ${this.o.maxOpcodes} opcodes`, offset, "budget", "maxOpcodes");
    }
    this.o.checkpoint?.();
  }

  result(stopped: boolean): DecodeResult {
    return {
      end: this.input.offset,
      opcodes: this.st.opcodes,
      stopped,
      divergence: this.st.divergence,
      rereads: this.st.rereads,
    };
  }

  async drive(): Promise<DecodeResult> {
    try {
      return await this.loop();
    } finally {
      this.release(); // the input moves on without this sink
    }
  }

  /** Lets the sink drop what refers to the buffer, and the input reuse it if the sink did. */
  release(): void {
    if (this.sink.release?.() === true) this.input.retain();
  }

  async loop(): Promise<DecodeResult> {
    const input = this.input;
    for (;;) {
      const need = this.run();
      if (need === R_STOP) return this.result(true);
      if (need === R_SPECIAL) {
        if ((await this.sink.special(input, this.st)) === SinkAction.Stop) return this.result(true);
        continue;
      }
      if (need === R_LARGE) {
        this.release();
        await this.large();
        continue;
      }
      if (need === 0) continue;
      const before = input.end - input.pos;
      if (before > this.o.maxLineBytes) {
        throw new PickleError("text line longer than the line budget", input.offset, "budget", "maxLineBytes");
      }
      this.release();
      await input.fill(need);
      if (input.end - input.pos > before) continue; // more bytes arrived: retry the fast loop
      if (input.pos >= input.end) {
        throw new PickleError("pickle data was truncated (no STOP opcode)", input.offset, "truncated");
      }
      const code = input.buf[input.pos] as number;
      if (KIND_OF[code] === K_INVALID) throw new PickleError(invalidKey(code), input.offset);
      throw new PickleError(`pickle data was truncated inside ${opcodeName(code)}`, input.offset, "truncated");
    }
  }

  /** A counted payload larger than `inlineMax`: keep its head, skip the rest. */
  async large(): Promise<void> {
    const input = this.input;
    const a = this.a;
    const offset = input.offset;
    const code = input.buf[input.pos] as number;
    const lw = LENGTH_BYTES[code] as number;
    const len = a.num;
    input.pos += 1 + lw;
    const dataStart = input.offset;
    const headLen = Math.min(len, this.o.headBytes);
    if (!(await input.fill(headLen))) {
      throw new PickleError(`pickle data was truncated inside ${opcodeName(code)}`, offset, "truncated");
    }
    const head = input.buf.slice(input.pos, input.pos + headLen);
    if (!(await input.skip(len))) {
      throw new PickleError(
        `pickle data was truncated inside ${opcodeName(code)} (${len} bytes announced)`,
        offset,
        "truncated",
      );
    }
    if (this.st.frameEnd >= 0) this.frameParts(code, [offset, offset + 1, dataStart, dataStart + len]);
    a.blob = { offset: dataStart, length: len, head, encoding: TEXT_PAYLOAD[code] === 1 ? "utf8" : "bytes" };
    const act = this.sink.op(code, offset, a);
    a.blob = undefined;
    if (++this.st.opcodes >= this.nextCheck) this.budget(offset);
    if (act !== SinkAction.Continue) {
      throw new ModelgateError("INTERNAL", "sink requested an action after a payload opcode");
    }
  }
}

/**
 * Decodes one pickle (up to and including STOP) from `input`, feeding `sink`.
 * @param input - positioned at the first opcode
 * @param sink - executes opcodes
 * @param options - settings and budgets
 * @throws PickleError on structural errors, truncation and exceeded budgets
 */
export function decodePickle(
  input: PickleInput,
  sink: OpSink,
  options: Partial<DecoderOptions> = {},
): Promise<DecodeResult> {
  const decoder = new Decoder(input, sink, { ...DEFAULT_DECODER_OPTIONS, ...options });
  return decoder.drive().catch((error: unknown) => {
    if (error instanceof PickleError && decoder.st.rereads) error.rereads = true;
    throw error;
  });
}

function indexOfNewline(buf: Uint8Array, from: number, end: number): number {
  const i = buf.indexOf(0x0a, from);
  return i < 0 || i >= end ? -1 : i;
}

function invalidKey(code: number): string {
  return code >= 0x20 && code <= 0x7e && code !== 0x27 && code !== 0x5c
    ? `invalid load key, '${String.fromCharCode(code)}'`
    : `invalid load key, '\\x${code.toString(16).padStart(2, "0")}'`;
}

function u64(buf: Uint8Array, at: number): number {
  const lo =
    ((buf[at] as number) |
      ((buf[at + 1] as number) << 8) |
      ((buf[at + 2] as number) << 16) |
      ((buf[at + 3] as number) << 24)) >>>
    0;
  const hi =
    ((buf[at + 4] as number) |
      ((buf[at + 5] as number) << 8) |
      ((buf[at + 6] as number) << 16) |
      ((buf[at + 7] as number) << 24)) >>>
    0;
  // Above 2**53 the value is no longer exact; it is only ever compared with input sizes.
  return hi * 4294967296 + lo;
}
