/**
 * The header of an R serialization stream, read from the first bytes: the format line (`X\n`,
 * `B\n`, `A\n`), the version (2 or 3), the writer's R version, the oldest R that can read it, and
 * for version 3 the native encoding. A `save()` workspace prefixes the stream with `RDX2\n`,
 * `RDX3\n` (or `RDA`/`RDB` for ASCII and native binary).
 * @module
 */
import type { RStreamFormat } from "./stream.js";

/** A parsed stream header. */
export interface RHeader {
  /** `rds` for a bare stream (`saveRDS`, `serialize`), `rdata` for a `save()` workspace. */
  readonly kind: "rds" | "rdata";
  readonly format: RStreamFormat;
  /** Serialization version (2 or 3). */
  readonly version: number;
  /** R version that wrote it, packed as major·65536 + minor·256 + patch. */
  readonly writer: number;
  /** Oldest R version that reads it, packed the same way. */
  readonly minReader: number;
  /** Native encoding of the writer (version 3 only). */
  readonly encoding?: string;
  /** Offset of the first item's flags. */
  readonly itemStart: number;
}

/** R's longest encoding name (`R_CODESET_MAX`). */
const MAX_ENCODING = 63;

/** `major.minor.patch` of a packed R version. */
export function rVersionString(packed: number): string {
  return `${Math.floor(packed / 65536)}.${Math.floor(packed / 256) % 256}.${packed % 256}`;
}

const FORMATS: Readonly<Record<number, RStreamFormat>> = { 88: "xdr", 66: "binary", 65: "ascii" };

/** Reads integers from the head, in the stream's encoding; undefined past the head's end. */
class HeadInts {
  pos: number;
  constructor(
    readonly head: Uint8Array,
    start: number,
    readonly format: RStreamFormat,
  ) {
    this.pos = start;
  }

  int(): number | undefined {
    const h = this.head;
    if (this.format !== "ascii") {
      if (this.pos + 4 > h.length) return undefined;
      const p = this.pos;
      this.pos += 4;
      return this.format === "xdr"
        ? (h[p]! << 24) | (h[p + 1]! << 16) | (h[p + 2]! << 8) | h[p + 3]!
        : h[p]! | (h[p + 1]! << 8) | (h[p + 2]! << 16) | (h[p + 3]! << 24);
    }
    while (this.pos < h.length && (h[this.pos] === 0x20 || (h[this.pos]! >= 0x09 && h[this.pos]! <= 0x0d))) this.pos++;
    let word = "";
    while (this.pos < h.length && word.length < 16) {
      const c = h[this.pos]!;
      if (c === 0x20 || (c >= 0x09 && c <= 0x0d)) break;
      word += String.fromCharCode(c);
      this.pos++;
    }
    if (this.pos >= h.length || !/^\d+$/.test(word)) return undefined;
    this.pos++; // the whitespace after the word
    return Number(word);
  }

  /** A string of `n` bytes (the encoding name: plain ASCII, no escapes, in every format). */
  text(n: number): string | undefined {
    const h = this.head;
    if (this.format === "ascii")
      while (this.pos < h.length && (h[this.pos] === 0x20 || h[this.pos] === 0x0a)) this.pos++;
    if (this.pos + n > h.length) return undefined;
    const bytes = h.subarray(this.pos, this.pos + n);
    this.pos += n;
    if (!bytes.every((b) => b >= 0x20 && b < 0x7f)) return undefined;
    return String.fromCharCode(...bytes);
  }
}

/** Whether a packed version is one R could have written (1.4.0 to 99.x). */
const plausibleVersion = (v: number): boolean => v >= 0x010400 && v < 0x640000;

/**
 * Parses the header at the start of `head`, or returns a reason it is not one.
 * @param head - the first bytes (a few hundred are enough)
 */
export function parseRHeader(head: Uint8Array): RHeader | string {
  let kind: RHeader["kind"] = "rds";
  let start = 0;
  if (head[0] === 0x52 && head[1] === 0x44 && head[4] === 0x0a) {
    // RDX2\n, RDA3\n, RDB2\n ...
    if (!(head[2]! in FORMATS) || (head[3] !== 0x32 && head[3] !== 0x33)) return "unsupported workspace magic";
    kind = "rdata";
    start = 5;
  }
  const format = FORMATS[head[start] ?? -1];
  if (format === undefined || head[start + 1] !== 0x0a) return "no serialization format line";
  const ints = new HeadInts(head, start + 2, format);
  const version = ints.int();
  const writer = ints.int();
  const minReader = ints.int();
  if (version === undefined || writer === undefined || minReader === undefined) return "header truncated";
  if (version !== 2 && version !== 3) return `unsupported serialization version ${version}`;
  if (!plausibleVersion(writer) || !plausibleVersion(minReader)) return "implausible R versions";
  if (version === 2) return { kind, format, version, writer, minReader, itemStart: ints.pos };
  const length = ints.int();
  if (length === undefined || length > MAX_ENCODING) return "invalid native encoding length";
  const encoding = ints.text(length);
  if (encoding === undefined) return "invalid native encoding";
  return { kind, format, version, writer, minReader, encoding, itemStart: ints.pos };
}
