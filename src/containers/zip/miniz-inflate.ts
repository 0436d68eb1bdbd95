/**
 * A deflate decoder that accepts what PyTorch's zip reader accepts, for the members zlib refuses.
 *
 * Why a second inflater: PyTorch (`torch.load`, `torch.jit.load`, `torch.package`) reads zip
 * members with miniz's `tinfl`, which is more lenient than zlib (what Node, Python's `zipfile`
 * and most scanners use). A hand-made stream that only tinfl decodes gave modelgate nothing to
 * analyse while `torch.load` unpickled it. This decoder is written for modelgate from the
 * deflate format (RFC 1951) plus the tinfl behaviours below, each checked against torch 1.13
 * (samples/generate/zip_decoders.py builds one member per behaviour and compares both readers):
 *
 * - a dynamic block may declare up to 288 literal/length and 32 distance codes (zlib: 286, 30);
 *   length symbols 286 and 287 mean a copy of length 0, distance codes 30 and 31 distance 0;
 * - a Huffman code with at most one symbol may be incomplete; a bit pattern it does not assign
 *   decodes as symbol 0 without consuming bits (tinfl's empty lookup entry); codes with two or
 *   more symbols must be complete (over-subscribed or incomplete ones fail, as in zlib);
 * - a copy of distance 0 repeats the output buffer's own (in PyTorch: uninitialised) bytes; they
 *   are counted as `undefinedBytes` and left zero here;
 * - the output buffer has exactly the declared size: more output stops the decoder (miniz then
 *   fails without reporting it and PyTorch keeps the full buffer), and a failure part-way leaves
 *   the bytes written so far (PyTorch 1.13 reads the buffer all the same, the rest uninitialised).
 *
 * With `zlib: true` every one of those leniencies is a failure instead, at the point zlib fails:
 * the output is then what a streaming zlib reader (Python's zipfile, hence `np.load`) has handed
 * on before its error, which a pickle inside may already have been unpickled from.
 *
 * Budgets: the output never exceeds the declared size (the caller caps it); what is written is
 * charged as it is written (`charge`, the scan's decompression budget: every
 * {@link CHECK_EVERY} steps and before the buffer grows), not the declared size up front, so a
 * broken member that declares 64 MiB and fails after a few bytes costs those bytes (charging the
 * declaration let cheap junk members spend a checkpoint's whole budget). The buffer starts small
 * and doubles as output comes, up to the declared size; the declared-size buffer with its zeros
 * ({@link MinizInflateResult.output}) is only made when asked for. Every loop is bounded by the
 * input's bits plus the output's bytes, a literal decoded without consuming bits (which repeats
 * until the buffer is full) fills the rest of the buffer at once instead of one step per byte, and
 * `checkpoint` (the scan's deadline) is called every {@link CHECK_EVERY} steps.
 * @module
 */

/** How a decoding ended. */
export type MinizInflateStatus =
  /** The final block ended (the output may still be shorter than declared). */
  | "done"
  /** The stream has more output than the declared size (miniz stops; PyTorch keeps the buffer). */
  | "output-full"
  /** tinfl fails at `written` (PyTorch 1.13 still reads the buffer). */
  | "failed";

/** Result of {@link minizInflate}. */
export interface MinizInflateResult {
  /** The declared size's buffer; bytes the stream did not write are zero (made when first read). */
  readonly output: Uint8Array;
  /** The bytes written, from the start of the buffer (the start of {@link output}). */
  readonly produced: Uint8Array;
  /** Bytes written from the start of the buffer. */
  readonly written: number;
  readonly status: MinizInflateStatus;
  /** Why it failed (status `failed`). */
  readonly reason?: string;
  /** The tinfl leniencies the stream relies on (what zlib refuses), for the report. */
  readonly quirks: readonly string[];
  /** Output bytes copied from distance 0 (uninitialised memory in the loader). */
  readonly undefinedBytes: number;
}

/** Options of {@link minizInflate}. */
export interface MinizInflateOptions {
  /** Called every {@link CHECK_EVERY} steps; throws to stop (the scan's deadline). */
  readonly checkpoint?: () => void;
  /** Fail where zlib fails (no tinfl leniency): the output is zlib's before its error. */
  readonly zlib?: boolean;
  /**
   * Charges bytes written to the decompression budget as they are written (throws to stop:
   * `BUDGET_EXCEEDED` then propagates).
   */
  readonly charge?: (bytes: number) => void;
}

/** The leniencies a stream used; in zlib mode the first one fails. */
class Quirks {
  readonly seen = new Set<string>();
  constructor(private readonly zlib: boolean) {}

  note(what: string): void {
    if (this.zlib) throw new Failed(`zlib refuses ${what}`);
    this.seen.add(what);
  }
}

const CHECK_EVERY = 1 << 16;
/** The output buffer's first size (it doubles from there, up to the declared size). */
const FIRST_BUFFER = 64 * 1024;
const FAST_BITS = 10;
const MAX_BITS = 15;

// tinfl's tables: 31 length and 32 distance entries; the ones past RFC 1951's are zero.
const LENGTH_BASE = [
  3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258, 0,
  0,
];
const LENGTH_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0, 0, 0];
const DIST_BASE = [
  1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145,
  8193, 12289, 16385, 24577, 0, 0,
];
const DIST_EXTRA = [
  0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 0, 0,
];
const CODE_LENGTH_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/** tinfl stops here (a failure; the output so far stays). */
class Failed extends Error {}

/** The output is full and the stream has more (miniz stops). */
class OutputFull extends Error {}

/** LSB-first bit reader; reading past the input fails (tinfl without more input). */
class BitReader {
  pos = 0;
  constructor(readonly bytes: Uint8Array) {}

  get left(): number {
    return this.bytes.length * 8 - this.pos;
  }

  /** The next `n` (≤ 24) bits, zero past the input, without consuming them. */
  peek(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) {
      const p = this.pos + i;
      const byte = p >>> 3 < this.bytes.length ? (this.bytes[p >>> 3] as number) : 0;
      v |= ((byte >>> (p & 7)) & 1) << i;
    }
    return v;
  }

  /** One bit (the Huffman decoder's step). */
  bit(): number {
    const p = this.pos;
    if (p >>> 3 >= this.bytes.length) throw new Failed("the stream ends inside a block");
    this.pos = p + 1;
    return ((this.bytes[p >>> 3] as number) >>> (p & 7)) & 1;
  }

  bits(n: number): number {
    if (n > this.left) throw new Failed("the stream ends inside a block");
    const v = this.peek(n);
    this.pos += n;
    return v;
  }

  alignToByte(): void {
    this.pos = (this.pos + 7) & ~7;
  }
}

/** A canonical Huffman code as tinfl builds it. */
interface Code {
  /** Codes per length (index 1–15). */
  readonly counts: Int32Array;
  /** Symbols ordered by code. */
  readonly symbols: Int32Array;
  /** Symbols with a code. */
  readonly used: number;
  /** Whether the lengths fill the code space. */
  readonly complete: boolean;
  /** The one symbol of a one-symbol code, and its length. */
  readonly single?: { readonly symbol: number; readonly length: number };
}

/**
 * Builds a code from lengths with tinfl's acceptance rule: complete, or at most one symbol.
 * @param what - which code, for the failure message
 */
function buildCode(lengths: ArrayLike<number>, what: string): Code {
  const counts = new Int32Array(MAX_BITS + 1);
  for (let i = 0; i < lengths.length; i++) counts[lengths[i] as number] = (counts[lengths[i] as number] as number) + 1;
  let used = 0;
  let total = 0;
  for (let len = 1; len <= MAX_BITS; len++) {
    used += counts[len] as number;
    total = (total + (counts[len] as number)) * 2;
  }
  const complete = total === 1 << 16;
  if (!complete && used > 1) throw new Failed(`the ${what} code lengths are incomplete or over-subscribed`);
  const offsets = new Int32Array(MAX_BITS + 2);
  for (let len = 1; len <= MAX_BITS; len++) offsets[len + 1] = (offsets[len] as number) + (counts[len] as number);
  const symbols = new Int32Array(used);
  let single: Code["single"];
  for (let s = 0; s < lengths.length; s++) {
    const len = lengths[s] as number;
    if (len === 0) continue;
    symbols[offsets[len] as number] = s;
    offsets[len] = (offsets[len] as number) + 1;
    if (used === 1) single = { symbol: s, length: len };
  }
  return single === undefined ? { counts, symbols, used, complete } : { counts, symbols, used, complete, single };
}

/** Decodes one symbol: canonical decoding, with tinfl's answer for patterns a code leaves out. */
function decodeSymbol(bits: BitReader, code: Code, quirks: Quirks): number {
  if (!code.complete) {
    const single = code.single;
    // tinfl's lookup has no entry for the pattern: symbol 0, no bits consumed
    const miss = (consumed: number): number => {
      quirks.note("a bit pattern an incomplete code leaves unassigned (decoded as symbol 0)");
      if (consumed > bits.left) throw new Failed("the stream ends inside a code");
      bits.pos += consumed;
      return 0;
    };
    if (single === undefined) return miss(0);
    const length = single.length;
    if (length <= FAST_BITS) {
      if (bits.peek(length) !== 0) return miss(0);
      bits.bits(length);
      return single.symbol;
    }
    if (bits.peek(FAST_BITS) !== 0) return miss(0);
    // past the fast table: tinfl walks its tree along the all-zero code; a 1 bit leaves it
    for (let k = FAST_BITS; k < length; k++) {
      if (((bits.peek(k + 1) >>> k) & 1) === 1) return miss(k + 1);
    }
    bits.bits(length);
    return single.symbol;
  }
  let value = 0;
  let first = 0;
  let index = 0;
  for (let len = 1; len <= MAX_BITS; len++) {
    value |= bits.bit();
    const count = code.counts[len] as number;
    if (value - first < count) return code.symbols[index + value - first] as number;
    index += count;
    first = (first + count) * 2;
    value *= 2;
  }
  throw new Failed("invalid Huffman code"); // unreachable for a complete code
}

const FIXED_LITERALS = buildCode(
  Array.from({ length: 288 }, (_, i) => (i < 144 ? 8 : i < 256 ? 9 : i < 280 ? 7 : 8)),
  "fixed literal/length",
);
const FIXED_DISTANCES = buildCode(new Array<number>(32).fill(5), "fixed distance");

/**
 * Decodes a raw deflate stream the way miniz's tinfl does into a buffer of the declared size.
 * @param input - the member's compressed bytes
 * @param outSize - its declared uncompressed size (the largest output; the caller caps it)
 * @param options - the deadline callback and the decompression budget
 */
export function minizInflate(
  input: Uint8Array,
  outSize: number,
  options: MinizInflateOptions = {},
): MinizInflateResult {
  let out = new Uint8Array(Math.min(outSize, FIRST_BUFFER));
  const bits = new BitReader(input);
  const quirks = new Quirks(options.zlib === true);
  let written = 0;
  let charged = 0;
  let undefinedBytes = 0;
  let steps = 0;
  const chargeWritten = (): void => {
    if (written > charged) options.charge?.(written - charged);
    charged = written;
  };
  const step = (): void => {
    if (++steps % CHECK_EVERY !== 0) return;
    options.checkpoint?.();
    chargeWritten();
  };
  /** Room for `n` more bytes (at most the declared size's). */
  const room = (n: number): void => {
    const need = Math.min(outSize, written + n);
    if (need <= out.length) return;
    chargeWritten();
    const grown = new Uint8Array(Math.min(outSize, Math.max(need, out.length * 2)));
    grown.set(out.subarray(0, written));
    out = grown;
  };
  const result = (status: MinizInflateStatus, reason?: string): MinizInflateResult => {
    chargeWritten();
    const produced = out.subarray(0, written);
    let full: Uint8Array | undefined = out.length === outSize ? out : undefined;
    return {
      get output(): Uint8Array {
        if (full === undefined) {
          full = new Uint8Array(outSize);
          full.set(produced);
        }
        return full;
      },
      produced,
      written,
      status,
      ...(reason === undefined ? {} : { reason }),
      quirks: [...quirks.seen],
      undefinedBytes,
    };
  };
  try {
    let final = 0;
    while (final === 0) {
      step();
      final = bits.bits(1);
      const type = bits.bits(2);
      if (type === 0) {
        bits.alignToByte();
        const len = bits.bits(16);
        const nlen = bits.bits(16);
        if (len !== (nlen ^ 0xffff)) throw new Failed("a stored block's length does not match its complement");
        // tinfl copies what it has before it fails or stops
        const start = bits.pos >>> 3;
        const copied = Math.min(len, outSize - written, input.length - start);
        room(copied);
        out.set(input.subarray(start, start + copied), written);
        written += copied;
        if (copied < len && written >= outSize) throw new OutputFull();
        if (copied < len) throw new Failed("the stream ends inside a stored block");
        bits.pos += len * 8;
        continue;
      }
      if (type === 3) throw new Failed("a block of reserved type 3");
      const [literals, distances] = type === 1 ? [FIXED_LITERALS, FIXED_DISTANCES] : readDynamicCodes(bits, quirks);
      for (;;) {
        step();
        const at = bits.pos;
        const sym = decodeSymbol(bits, literals, quirks);
        if (sym < 256) {
          if (written >= outSize) throw new OutputFull();
          if (bits.pos === at) {
            // decoded without consuming bits (an unassigned pattern): nothing changes the state, so
            // every next symbol is this literal until the buffer is full, as tinfl writes it
            room(outSize - written);
            out.fill(sym, written);
            written = outSize;
            throw new OutputFull();
          }
          room(1);
          out[written++] = sym;
          continue;
        }
        if (sym === 256) break;
        const li = sym - 257;
        if (li >= 29) quirks.note(`length symbol ${sym} (a copy of length 0)`);
        const length = (LENGTH_BASE[li] as number) + bits.bits(LENGTH_EXTRA[li] as number);
        const ds = decodeSymbol(bits, distances, quirks);
        if (ds >= 30) quirks.note(`distance code ${ds} (distance 0)`);
        const distance = (DIST_BASE[ds] as number) + bits.bits(DIST_EXTRA[ds] as number);
        if (distance > written) throw new Failed(`a copy reaches ${distance} bytes back, ${written} written`);
        room(length);
        for (let i = 0; i < length; i++) {
          if (written >= outSize) throw new OutputFull();
          out[written] = out[written - distance] as number;
          written++;
        }
        if (distance === 0) undefinedBytes += length;
      }
    }
    return result("done");
  } catch (error) {
    if (error instanceof OutputFull) return result("output-full");
    if (error instanceof Failed) return result("failed", error.message);
    throw error;
  }
}

/** Reads a dynamic block's code definitions (tinfl's limits: 288 and 32 codes). */
function readDynamicCodes(bits: BitReader, quirks: Quirks): [Code, Code] {
  const nLit = bits.bits(5) + 257;
  const nDist = bits.bits(5) + 1;
  const nCl = bits.bits(4) + 4;
  if (nLit > 286) quirks.note(`${nLit} literal/length codes (over 286)`);
  if (nDist > 30) quirks.note(`${nDist} distance codes (over 30)`);
  const clLengths = new Array<number>(19).fill(0);
  for (let i = 0; i < nCl; i++) clLengths[CODE_LENGTH_ORDER[i] as number] = bits.bits(3);
  const clCode = buildCode(clLengths, "code-length");
  if (!clCode.complete) quirks.note("an incomplete code-length code");
  const total = nLit + nDist;
  const lengths = new Array<number>(total).fill(0);
  // each pass consumes bits or fills a length, so the loop ends within `total` passes plus the input
  let n = 0;
  while (n < total) {
    const sym = decodeSymbol(bits, clCode, quirks);
    if (sym < 16) {
      lengths[n++] = sym;
      continue;
    }
    if (sym === 16 && n === 0) throw new Failed("a repeat code before any length");
    const repeat = sym === 16 ? 3 + bits.bits(2) : sym === 17 ? 3 + bits.bits(3) : 11 + bits.bits(7);
    if (n + repeat > total) throw new Failed("code lengths run past the declared codes");
    lengths.fill(sym === 16 ? (lengths[n - 1] as number) : 0, n, n + repeat);
    n += repeat;
  }
  const literals = buildCode(lengths.slice(0, nLit), "literal/length");
  const distances = buildCode(lengths.slice(nLit), "distance");
  // zlib takes an incomplete code only of one 1-bit symbol (or none, for distances)
  const lone = literals.single;
  if (!literals.complete && !(lone !== undefined && lone.length === 1))
    quirks.note("an incomplete literal/length code");
  if (lengths[256] === 0) quirks.note("no end-of-block code");
  if (distances.single !== undefined && distances.single.length > 1) quirks.note("an incomplete distance code");
  return [literals, distances];
}
