/**
 * xz and LZMA-alone streams decoded as Python's lzma module reads them (`lzma.open`, `LZMAFile`,
 * joblib's `xz` and `lzma` compressors, all liblzma's auto-detecting decoder), written for
 * modelgate from the xz file format specification:
 *
 * - one stream after another: when a stream ends, what follows is read as a new stream, xz when
 *   it starts with 0xFD, else LZMA-alone (whatever the first stream was); bytes that open neither
 *   end the data (Python ignores them; the caller reports them as trailing bytes);
 * - every check type: CRC32, CRC64 and SHA-256 verified, the reserved ones skipped (liblzma skips
 *   checks it does not know);
 * - every filter chain liblzma 5.4 decodes: LZMA2 after Delta or a branch converter (x86, PowerPC,
 *   IA-64, ARM, ARM-Thumb, ARM64, SPARC), with a start offset or without;
 * - zero stream padding followed by a further xz stream: xz(1) decodes it, Python stops at the
 *   padding; it is decoded (a finding says so), so nothing either reader sees goes unanalysed.
 *
 * Output is written to the sink as it decodes, so what a streaming reader got before an error
 * (a truncated stream, a bad check) is there when the error is thrown.
 *
 * Why not `xz-decompress` (xz-embedded in WebAssembly): it has no SHA-256, no Delta and only the
 * branch converters compiled in; files Python loads came out as corrupt and were never analysed.
 * @module
 */
import { createHash, type Hash } from "node:crypto";
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { crc32 } from "node:zlib";
import { type ByteSource, readClamped, SliceSource } from "../../core/byte-source.js";
import { ModelgateError } from "../../core/errors.js";
import type { FindingInput } from "../../core/findings.js";
import {
  armFilter,
  armThumbFilter,
  type ByteFilter,
  deltaFilter,
  ppcFilter,
  sparcFilter,
  x86Filter,
} from "../sevenzip/filters.js";
import { type DecompressionBudget, decodeInto, OutputMeter, type SpillSink } from "./decoded-source.js";
import { lzmaDictionaryAccepted } from "./index.js";
import { createUnLzma, Lzma2Decoder, lzma2DictionarySize } from "./lzma.js";
import { arm64Filter, ia64Filter } from "./xz-filters.js";

const MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
const FOOTER_MAGIC = [0x59, 0x5a];
const INPUT_CHUNK = 64 * 1024;
const OUTPUT_PIECE = 64 * 1024;
/** Output between two turns of the event loop (lets the scan's deadline fire). */
const YIELD_EVERY = 4 * 1024 * 1024;
/** Check sizes by check type (xz spec 2.1.1.2). */
const CHECK_SIZES = [0, 4, 4, 4, 8, 8, 8, 16, 16, 16, 32, 32, 32, 64, 64, 64];
/** Most streams read from one file (each costs a header, an index and a footer). */
const MAX_STREAMS = 100_000;

function malformed(message: string, offset: number): ModelgateError {
  return new ModelgateError("MALFORMED", `xz: ${message}`, { offset });
}

function truncated(message: string, offset: number): ModelgateError {
  return new ModelgateError("TRUNCATED", `xz: ${message}`, { offset });
}

/** Reads exactly `length` bytes or throws `TRUNCATED`. */
async function readExact(input: ByteSource, offset: number, length: number, what: string): Promise<Uint8Array> {
  const bytes = await readClamped(input, offset, length);
  if (bytes.length < length) throw truncated(`the file ends inside ${what}`, offset);
  return bytes;
}

function u32le(b: Uint8Array, at: number): number {
  return (
    ((b[at] as number) |
      ((b[at + 1] as number) << 8) |
      ((b[at + 2] as number) << 16) |
      ((b[at + 3] as number) << 24)) >>>
    0
  );
}

/** A variable-length integer (xz spec 1.2) at `p` of `b`; `undefined` when it does not end in 9 bytes or in `b`. */
function readVli(b: Uint8Array, p: number): { value: number; next: number } | undefined {
  let value = 0;
  for (let i = 0; i < 9; i++) {
    const byte = b[p + i];
    if (byte === undefined) return undefined;
    value += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) {
      if (byte === 0 && i > 0) return undefined; // not the shortest encoding
      return { value, next: p + i + 1 };
    }
  }
  return undefined;
}

/** The CRC-64 of xz (ECMA-182, reflected), in two 32-bit halves. */
const CRC64_TABLE = (() => {
  const lo = new Uint32Array(256);
  const hi = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let l = i;
    let h = 0;
    for (let k = 0; k < 8; k++) {
      const odd = l & 1;
      l = ((l >>> 1) | ((h & 1) << 31)) >>> 0;
      h >>>= 1;
      if (odd) {
        l = (l ^ 0xd7870f42) >>> 0;
        h = (h ^ 0xc96c5795) >>> 0;
      }
    }
    lo[i] = l;
    hi[i] = h;
  }
  return { lo, hi };
})();

/** The running CRC-64 of a block (the hot loop works on locals: closures over them ran 4× slower). */
class Crc64 implements Check {
  #lo = 0xffffffff;
  #hi = 0xffffffff;

  update(b: Uint8Array): void {
    const tLo = CRC64_TABLE.lo;
    const tHi = CRC64_TABLE.hi;
    let lo = this.#lo;
    let hi = this.#hi;
    for (let i = 0; i < b.length; i++) {
      const idx = (lo ^ (b[i] as number)) & 0xff;
      lo = ((lo >>> 8) | (hi << 24)) ^ (tLo[idx] as number);
      hi = (hi >>> 8) ^ (tHi[idx] as number);
    }
    this.#lo = lo >>> 0;
    this.#hi = hi >>> 0;
  }

  digest(): Uint8Array {
    const out = new Uint8Array(8);
    const view = new DataView(out.buffer);
    view.setUint32(0, ~this.#lo >>> 0, true);
    view.setUint32(4, ~this.#hi >>> 0, true);
    return out;
  }
}

/** A running integrity check of one block. */
interface Check {
  update(bytes: Uint8Array): void;
  /** The check's bytes as stored, or `undefined` when modelgate (like liblzma) does not verify this type. */
  digest(): Uint8Array | undefined;
}

function checkOf(type: number): Check {
  if (type === 1) {
    let c = 0;
    return {
      update: (b) => {
        c = crc32(b, c);
      },
      digest: () => {
        const out = new Uint8Array(4);
        new DataView(out.buffer).setUint32(0, c >>> 0, true);
        return out;
      },
    };
  }
  if (type === 4) return new Crc64();
  if (type === 10) {
    const hash: Hash = createHash("sha256");
    return { update: (b) => hash.update(b), digest: () => new Uint8Array(hash.digest()) };
  }
  return { update: () => undefined, digest: () => undefined };
}

/** Filter ids liblzma 5.4 decodes, with the names the findings use. */
const FILTER_NAMES: Record<number, string> = {
  3: "Delta",
  4: "x86 BCJ",
  5: "PowerPC BCJ",
  6: "IA-64 BCJ",
  7: "ARM BCJ",
  8: "ARM-Thumb BCJ",
  9: "SPARC BCJ",
  10: "ARM64 BCJ",
  11: "RISC-V BCJ",
  33: "LZMA2",
};

function filterName(id: number): string {
  return FILTER_NAMES[id] ?? `0x${id.toString(16)}`;
}

/** A non-last filter of a block's chain, decoding direction. */
function makeFilter(id: number, props: Uint8Array, at: number): ByteFilter {
  if (id === 3) {
    if (props.length !== 1) throw malformed("Delta filter with a wrong properties size", at);
    return deltaFilter((props[0] as number) + 1);
  }
  if (props.length !== 0 && props.length !== 4)
    throw malformed(`${filterName(id)} filter with a wrong properties size`, at);
  const start = props.length === 4 ? u32le(props, 0) : 0;
  const branch: Record<number, () => ByteFilter> = {
    4: x86Filter,
    5: ppcFilter,
    6: ia64Filter,
    7: armFilter,
    8: armThumbFilter,
    9: sparcFilter,
    10: arm64Filter,
  };
  const create = branch[id];
  if (create === undefined) {
    throw new ModelgateError(
      "UNSUPPORTED",
      `xz: block at ${at} uses the ${filterName(id)} filter, which modelgate does not decode`,
      {
        offset: at,
      },
    );
  }
  if (start !== 0) {
    throw new ModelgateError(
      "UNSUPPORTED",
      `xz: block at ${at} uses the ${filterName(id)} filter with a start offset of ${start}, which modelgate does not decode`,
      {
        offset: at,
      },
    );
  }
  return create();
}

/** A parsed block header. */
interface BlockHeader {
  readonly size: number;
  readonly compressedSize: number;
  readonly uncompressedSize: number;
  readonly dictSize: number;
  readonly filters: ByteFilter[];
}

async function readBlockHeader(input: ByteSource, at: number, first: number): Promise<BlockHeader> {
  const size = (first + 1) * 4;
  const h = await readExact(input, at, size, "a block header");
  if (crc32(h.subarray(0, size - 4)) >>> 0 !== u32le(h, size - 4))
    throw malformed(`block header at ${at} fails its CRC32`, at);
  const flags = h[1] as number;
  if ((flags & 0x3c) !== 0) throw malformed(`block header at ${at} sets reserved flags`, at);
  let p = 2;
  const vli = (): number => {
    const v = readVli(h.subarray(0, size - 4), p);
    if (v === undefined) throw malformed(`block header at ${at} is corrupt`, at);
    p = v.next;
    return v.value;
  };
  const compressedSize = flags & 0x40 ? vli() : -1;
  const uncompressedSize = flags & 0x80 ? vli() : -1;
  const count = (flags & 3) + 1;
  const chain: { id: number; props: Uint8Array }[] = [];
  for (let i = 0; i < count; i++) {
    const id = vli();
    const propsSize = vli();
    if (p + propsSize > size - 4) throw malformed(`block header at ${at} is corrupt`, at);
    chain.push({ id, props: h.subarray(p, p + propsSize) });
    p += propsSize;
  }
  for (; p < size - 4; p++) if (h[p] !== 0) throw malformed(`block header at ${at} has non-zero padding`, at);
  const last = chain[chain.length - 1];
  if (last === undefined || last.id !== 0x21) {
    throw new ModelgateError(
      "UNSUPPORTED",
      `xz: block at ${at} ends its filter chain with ${filterName(last?.id ?? -1)}, which modelgate does not decode`,
      {
        offset: at,
      },
    );
  }
  if (last.props.length !== 1) throw malformed(`block header at ${at}: LZMA2 with a wrong properties size`, at);
  const dictSize = lzma2DictionarySize(last.props[0] as number);
  const filters = chain.slice(0, -1).map((f) => {
    if (f.id === 0x21) throw malformed(`block header at ${at}: LZMA2 that is not the last filter`, at);
    return makeFilter(f.id, f.props, at);
  });
  return { size, compressedSize, uncompressedSize, dictSize, filters };
}

/** Where decoded bytes go, charged to the budget, with the event loop let in now and then. */
class Output {
  produced = 0;
  #sinceYield = 0;
  readonly #meter: OutputMeter;

  constructor(
    readonly sink: SpillSink,
    readonly budget: DecompressionBudget,
    label: string,
  ) {
    this.#meter = new OutputMeter(budget, label);
  }

  async write(bytes: Uint8Array, consumed: number): Promise<void> {
    if (bytes.length === 0) return;
    this.produced += bytes.length;
    this.#meter.update(this.produced, consumed);
    await this.sink.write(bytes);
    this.#sinceYield += bytes.length;
    if (this.#sinceYield >= YIELD_EVERY) {
      this.#sinceYield = 0;
      await yieldToLoop();
      this.budget.signal?.throwIfAborted();
    }
  }
}

/** Decodes one block; returns its end (after padding and check) and its index record. */
async function decodeBlock(
  input: ByteSource,
  at: number,
  header: BlockHeader,
  checkType: number,
  out: Output,
  base: number,
): Promise<{ end: number; unpadded: number; uncompressed: number }> {
  const dataAt = at + header.size;
  const decoder = new Lzma2Decoder(header.dictSize, header.uncompressedSize, { label: "xz" });
  const check = checkOf(checkType);
  const filters = header.filters;
  let fed = 0;
  let produced = 0;
  const emit = async (bytes: Uint8Array, final: boolean): Promise<void> => {
    let data = bytes;
    for (let i = filters.length - 1; i >= 0; i--) data = (filters[i] as ByteFilter).process(data, final);
    check.update(data);
    produced += data.length;
    if (header.uncompressedSize >= 0 && produced > header.uncompressedSize) {
      throw malformed(
        `block at ${at} decodes to more than the ${header.uncompressedSize} bytes its header declares`,
        at,
      );
    }
    await out.write(data, base + header.size + decoder.consumed);
  };
  let idle = 0;
  while (!decoder.done) {
    out.budget.signal?.throwIfAborted();
    if (decoder.needsInput) {
      const chunk = await readClamped(input, dataAt + fed, INPUT_CHUNK);
      if (chunk.length === 0) decoder.end();
      else decoder.push(chunk);
      fed += chunk.length;
      continue;
    }
    let piece: Uint8Array;
    try {
      piece = decoder.pull(OUTPUT_PIECE);
    } catch (error) {
      // the decoder's own words: truncated input is a truncated file here
      if (error instanceof ModelgateError && /truncated/.test(error.message))
        throw truncated(`block at ${at} is truncated`, at);
      throw error;
    }
    if (piece.length > 0) {
      idle = 0;
      await emit(piece, false);
    } else if (++idle > 4) {
      throw truncated(`block at ${at} is truncated`, at);
    }
  }
  await emit(new Uint8Array(0), true);
  const consumed = decoder.consumed;
  if (header.compressedSize >= 0 && consumed !== header.compressedSize) {
    throw malformed(`block at ${at} holds ${consumed} compressed bytes, ${header.compressedSize} declared`, at);
  }
  if (header.uncompressedSize >= 0 && produced !== header.uncompressedSize) {
    throw malformed(`block at ${at} decodes to ${produced} bytes, ${header.uncompressedSize} declared`, at);
  }
  const unpaddedNoCheck = header.size + consumed;
  const pad = (4 - (unpaddedNoCheck % 4)) % 4;
  const checkSize = CHECK_SIZES[checkType] as number;
  const tail = await readExact(input, dataAt + consumed, pad + checkSize, "a block's padding and check");
  if (tail.subarray(0, pad).some((b) => b !== 0)) throw malformed(`block at ${at} has non-zero padding`, at);
  const expected = check.digest();
  if (expected !== undefined) {
    const stored = tail.subarray(pad);
    if (!expected.every((b, i) => b === stored[i])) {
      throw malformed(`block at ${at} fails its integrity check (type ${checkType})`, dataAt + consumed + pad);
    }
  }
  return { end: dataAt + consumed + pad + checkSize, unpadded: unpaddedNoCheck + checkSize, uncompressed: produced };
}

/** Decodes one xz stream at `start`; returns where it ends (after its footer). */
async function decodeXzStream(input: ByteSource, start: number, out: Output): Promise<number> {
  const head = await readExact(input, start, 12, "the stream header");
  if (!MAGIC.every((b, i) => head[i] === b)) throw malformed(`no stream header at ${start}`, start);
  if (crc32(head.subarray(6, 8)) >>> 0 !== u32le(head, 8))
    throw malformed(`stream header at ${start} fails its CRC32`, start);
  if (head[6] !== 0 || ((head[7] as number) & 0xf0) !== 0) {
    throw new ModelgateError("UNSUPPORTED", `xz: stream at ${start} sets flags modelgate does not know`, {
      offset: start,
    });
  }
  const checkType = (head[7] as number) & 0x0f;
  const records: { unpadded: number; uncompressed: number }[] = [];
  let pos = start + 12;
  for (;;) {
    const first = (await readExact(input, pos, 1, "a block header"))[0] as number;
    if (first === 0) break; // the index
    const header = await readBlockHeader(input, pos, first);
    const block = await decodeBlock(input, pos, header, checkType, out, pos);
    records.push(block);
    pos = block.end;
  }
  const indexAt = pos;
  // the index: indicator, record count, records, padding, CRC32; bounded by the records decoded
  const most = 1 + 9 + records.length * 18 + 3 + 4;
  const index = await readClamped(input, indexAt, most);
  let p = 1;
  const vli = (): number => {
    const v = readVli(index, p);
    if (v === undefined) throw malformed(`index at ${indexAt} is corrupt or truncated`, indexAt);
    p = v.next;
    return v.value;
  };
  if (vli() !== records.length) throw malformed(`index at ${indexAt} does not list the stream's blocks`, indexAt);
  for (const record of records) {
    if (vli() !== record.unpadded || vli() !== record.uncompressed) {
      throw malformed(`index at ${indexAt} does not match the stream's blocks`, indexAt);
    }
  }
  while (p % 4 !== 0) {
    if (index[p] !== 0) throw malformed(`index at ${indexAt} has non-zero padding`, indexAt);
    p++;
  }
  if (p + 4 > index.length) throw truncated("the file ends inside the index", indexAt);
  if (crc32(index.subarray(0, p)) >>> 0 !== u32le(index, p))
    throw malformed(`index at ${indexAt} fails its CRC32`, indexAt);
  const indexSize = p + 4;
  const footerAt = indexAt + indexSize;
  const footer = await readExact(input, footerAt, 12, "the stream footer");
  if (crc32(footer.subarray(4, 10)) >>> 0 !== u32le(footer, 0))
    throw malformed(`stream footer at ${footerAt} fails its CRC32`, footerAt);
  if ((u32le(footer, 4) + 1) * 4 !== indexSize)
    throw malformed(`stream footer at ${footerAt} gives a wrong index size`, footerAt);
  if (
    footer[8] !== head[6] ||
    footer[9] !== head[7] ||
    footer[10] !== FOOTER_MAGIC[0] ||
    footer[11] !== FOOTER_MAGIC[1]
  ) {
    throw malformed(`stream footer at ${footerAt} does not match its header`, footerAt);
  }
  return footerAt + 12;
}

/**
 * Whether the 13 bytes at `head` open an LZMA-alone stream liblzma's auto-detecting decoder
 * accepts (properties byte, dictionary size, declared size).
 */
export function aloneHeaderAccepted(head: Uint8Array): boolean {
  if (head.length < 13 || (head[0] as number) >= 225) return false;
  if (!lzmaDictionaryAccepted(u32le(head, 1))) return false;
  const unknown = head.subarray(5, 13).every((b) => b === 0xff);
  return unknown || ((head[9] as number) < 0x40 && head[10] === 0 && head[11] === 0 && head[12] === 0);
}

function isXzMagic(head: Uint8Array, at = 0): boolean {
  return MAGIC.every((b, i) => head[at + i] === b);
}

/** Offset of the first non-zero byte at or after `from` within `limit` bytes (`-1` if none). */
async function skipZeros(input: ByteSource, from: number, limit: number): Promise<number> {
  for (let at = from; at < Math.min(input.size, from + limit); at += INPUT_CHUNK) {
    const chunk = await readClamped(input, at, INPUT_CHUNK);
    const i = chunk.findIndex((b) => b !== 0);
    if (i >= 0) return at + i;
  }
  return -1;
}

/** Longest run of stream padding followed up. */
const MAX_PADDING = 1024 * 1024;

/**
 * Decodes the xz and LZMA-alone streams that start the input, one after the other, into the sink.
 * Returns the input bytes they took (less than the input's size: trailing bytes no stream opens).
 * Throws what stops decoding (`MALFORMED`, `TRUNCATED`, `UNSUPPORTED`, a budget) with the output
 * decoded before it already in the sink.
 * @param input - the compressed bytes
 * @param budget - decompressed-bytes and ratio budget
 * @param sink - where output goes
 * @param findings - anomalies that do not stop decoding are added here
 */
export async function decodeLzmaFamily(
  input: ByteSource,
  budget: DecompressionBudget,
  sink: SpillSink,
  findings: FindingInput[],
): Promise<number> {
  const out = new Output(sink, budget, "xz/lzma stream");
  let pos = 0;
  for (let streams = 0; pos < input.size; streams++) {
    budget.signal?.throwIfAborted();
    if (streams >= MAX_STREAMS)
      throw new ModelgateError("BUDGET_EXCEEDED", `xz: more than ${MAX_STREAMS} streams`, { budget: "maxEntries" });
    const head = await readClamped(input, pos, 13);
    if (streams > 0 && head[0] === 0) {
      // stream padding: xz(1) goes on with the stream after it, Python's lzma stops
      const next = await skipZeros(input, pos, MAX_PADDING);
      const xzFollows = next >= 0 && (next - pos) % 4 === 0 && isXzMagic(await readClamped(input, next, 6));
      if (xzFollows) {
        findings.push({
          ruleId: "container/malformed-stream",
          message: `xz stream at ${next} follows ${next - pos} bytes of stream padding: xz(1) decompresses it, Python's lzma stops before it; it was analysed as part of the content`,
          offset: pos,
        });
        pos = next;
        continue;
      }
      // else liblzma reads the 0x00 as an LZMA-alone properties byte (lc = lp = pb = 0)
    }
    if (head[0] === 0xfd) {
      // liblzma's auto decoder takes 0xFD for xz: anything else there is an error, which
      // Python ignores after a first stream
      if (streams > 0 && !isXzMagic(head)) break;
      pos = await decodeXzStream(input, pos, out);
      continue;
    }
    if (!aloneHeaderAccepted(head)) {
      if (streams === 0) throw malformed("neither an xz nor an LZMA-alone stream", 0);
      break;
    }
    const rest = new SliceSource(input, pos, input.size - pos);
    const totals = await decodeInto(rest, createUnLzma, budget, `lzma stream at ${pos}`, sink, () => undefined);
    out.produced += totals.produced;
    pos += totals.consumed;
  }
  return pos;
}
