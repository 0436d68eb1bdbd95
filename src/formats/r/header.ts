/**
 * The header of an R serialization stream or workspace, read as R's own readers read it (not as R
 * writes it), so that nothing R loads is taken for "not R":
 *
 * - the format line (`InFormat`): only the first byte counts (`A`, `B`, `X`, whatever follows),
 *   and `\nA` plus one more byte is ASCII too;
 * - the integers (`InInteger`): ASCII words as C's `sscanf("%d")` reads them (`3junk` is 3,
 *   `+262658` is 262658), and the writer and oldest-reader versions are never checked;
 * - the workspace magic (`R_ReadMagic`): `RD[ABX][123]\n`, else four bytes read as decimal digits
 *   by `(byte - '0') % 10` with the fifth byte ignored, which opens the version-1 formats
 *   (1001–1003), the version 2/3 streams (2001–3003) and the pre-1.0 formats (1971–1977).
 *
 * What R accepts but never writes is kept as an anomaly of the header, reported on a stream that is
 * analysed all the same.
 * @module
 */
import { charCodes } from "../../core/arrays.js";
import { type RStreamFormat, scanInt } from "./ints.js";

/** A workspace format older than serialization version 2. */
export type RLegacy = "v1" | "pre-1.0";

/** A parsed stream header. */
export interface RHeader {
  /** `rds` for a bare stream (`saveRDS`, `serialize`), `rdata` for a `save()` workspace. */
  readonly kind: "rds" | "rdata";
  readonly format: RStreamFormat;
  /** Serialization version (2 or 3; 1 for a version-1 workspace, 0 for a pre-1.0 one). */
  readonly version: number;
  /** R version that wrote it, packed as major·65536 + minor·256 + patch (0 when not recorded). */
  readonly writer: number;
  /** Oldest R version that reads it, packed the same way (0 when not recorded). */
  readonly minReader: number;
  /** Native encoding of the writer (version 3 only). */
  readonly encoding?: string;
  /** Offset of the first item's flags (of the table sizes, for a legacy workspace). */
  readonly itemStart: number;
  /** What R reads here but never writes (a hand-made header). */
  readonly anomalies: readonly string[];
  /** The workspace magic as R reads it (`RDX3`, `1976` ...). */
  readonly magic?: string;
  /** A legacy workspace format, read by `load()` through R's old loaders. */
  readonly legacy?: RLegacy;
}

/** The reason {@link parseRHeader} gives when the head ends inside the header. */
export const HEADER_TRUNCATED = "header truncated";

/** R's longest encoding name (`R_CODESET_MAX`). */
const MAX_ENCODING = 63;
/** R's ASCII words are read into 128 bytes: 127 characters at most. */
const MAX_WORD = 127;

/** `major.minor.patch` of a packed R version. */
export function rVersionString(packed: number): string {
  return `${Math.floor(packed / 65536)}.${Math.floor(packed / 256) % 256}.${packed % 256}`;
}

const FORMATS: Readonly<Record<number, RStreamFormat>> = { 88: "xdr", 66: "binary", 65: "ascii" };

const isSpace = (c: number): boolean => c === 0x20 || (c >= 0x09 && c <= 0x0d);

/** Thrown inside the header reader: the head ended, or R itself would refuse the header. */
class Stop {
  constructor(readonly reason: string) {}
}

/** Reads integers and strings from the head, in the stream's encoding, as R does. */
class HeadReader {
  /** ASCII words R reads as numbers but never writes (`3junk`, `+262658`). */
  readonly odd: string[] = [];
  constructor(
    readonly head: Uint8Array,
    public pos: number,
    readonly format: RStreamFormat,
  ) {}

  int(): number {
    const h = this.head;
    if (this.format !== "ascii") {
      if (this.pos + 4 > h.length) throw new Stop(HEADER_TRUNCATED);
      const p = this.pos;
      this.pos += 4;
      return this.format === "xdr"
        ? (h[p]! << 24) | (h[p + 1]! << 16) | (h[p + 2]! << 8) | h[p + 3]!
        : h[p]! | (h[p + 1]! << 8) | (h[p + 2]! << 16) | (h[p + 3]! << 24);
    }
    while (this.pos < h.length && isSpace(h[this.pos]!)) this.pos++;
    let word = "";
    while (this.pos < h.length && !isSpace(h[this.pos]!)) {
      if (word.length >= MAX_WORD) throw new Stop("ASCII word too long");
      word += String.fromCharCode(h[this.pos]!);
      this.pos++;
    }
    // R needs the byte that ends the word (a word at the end of the input is a read error)
    if (this.pos >= h.length) throw new Stop(HEADER_TRUNCATED);
    this.pos++;
    const value = scanInt(word);
    if (value === undefined) throw new Stop(`${JSON.stringify(word.slice(0, 20))} is not an integer`);
    if (word !== String(value) && word !== "NA") this.odd.push(word.slice(0, 20));
    return value;
  }

  /** A string of `n` bytes (R's InString): raw bytes, or escaped ASCII after whitespace. */
  text(n: number): Uint8Array {
    const h = this.head;
    if (this.format !== "ascii") {
      if (this.pos + n > h.length) throw new Stop(HEADER_TRUNCATED);
      const out = h.slice(this.pos, this.pos + n);
      this.pos += n;
      return out;
    }
    const out = new Uint8Array(n);
    if (n === 0) return out;
    while (this.pos < h.length && isSpace(h[this.pos]!)) this.pos++;
    for (let i = 0; i < n; i++) {
      if (this.pos >= h.length) throw new Stop(HEADER_TRUNCATED);
      let c = h[this.pos++]!;
      if (c === 0x5c) {
        if (this.pos >= h.length) throw new Stop(HEADER_TRUNCATED);
        c = h[this.pos++]!;
        if (c >= 0x30 && c <= 0x37) {
          let d = 0;
          for (let j = 0; j < 3 && c >= 0x30 && c <= 0x37; j++) {
            d = d * 8 + (c - 0x30);
            if (this.pos >= h.length) throw new Stop(HEADER_TRUNCATED);
            c = h[this.pos++]!;
          }
          this.pos--; // the character after the digits is read again
          c = d & 0xff;
        } else c = ESCAPES[String.fromCharCode(c)] ?? c;
      }
      out[i] = c;
    }
    return out;
  }
}

const ESCAPES: Readonly<Record<string, number>> = { n: 10, t: 9, v: 11, b: 8, r: 13, f: 12, a: 7 };

/** A workspace magic as `R_ReadMagic` reads it. */
export interface RMagic {
  /** The magic's text as R names it (`RDX3`, `1976`). */
  readonly magic: string;
  /** Serialization version behind it: 2 or 3 (a stream follows), 1, or 0 for pre-1.0 formats. */
  readonly version: 0 | 1 | 2 | 3;
  /** The stream's encoding; undefined when `load()` takes any (`RD[ABX][23]\n`). */
  readonly format: RStreamFormat | undefined;
  /** The magic is not written as R writes it (`2/76x` read as 1976). */
  readonly anomaly?: string;
}

/** Digit magics of `R_ReadMagic`: the format and version each opens. */
const DIGIT_MAGICS: ReadonlyMap<number, readonly [RStreamFormat, 0 | 1 | 2 | 3]> = new Map([
  [1971, ["binary", 0]],
  [1972, ["ascii", 0]],
  [1975, ["binary", 0]],
  [1976, ["ascii", 0]],
  [1977, ["xdr", 0]],
  // R_MAGIC_ASCII_V1 is 1001, R_MAGIC_BINARY_V1 1002, R_MAGIC_XDR_V1 1003 (likewise for 2 and 3)
  [1001, ["ascii", 1]],
  [1002, ["binary", 1]],
  [1003, ["xdr", 1]],
  [2001, ["ascii", 2]],
  [2002, ["binary", 2]],
  [2003, ["xdr", 2]],
  [3001, ["ascii", 3]],
  [3002, ["binary", 3]],
  [3003, ["xdr", 3]],
]);

const LETTER_FORMATS: Readonly<Record<string, RStreamFormat>> = { A: "ascii", B: "binary", X: "xdr" };

/**
 * The workspace magic of the first five bytes as R reads it; `unknown` for an `RD` magic R
 * refuses (a newer version), undefined when it is none.
 */
export function readMagic(head: Uint8Array): RMagic | "unknown" | undefined {
  if (head.length < 5) return undefined;
  const five = charCodes(head.subarray(0, 5));
  const named = /^RD([ABX])([123])\n$/.exec(five);
  if (named !== null) {
    const version = Number(named[2]) as 1 | 2 | 3;
    // load() reads version 2/3 streams of any encoding after these
    return { magic: five.slice(0, 4), version, format: version === 1 ? LETTER_FORMATS[named[1]!] : undefined };
  }
  if (five.startsWith("RD")) return "unknown";
  // R_ReadMagic: (byte - '0') % 10 per byte, C's remainder (it keeps the sign)
  const digit = (i: number): number => (head[i]! - 0x30) % 10;
  const value = digit(3) + 10 * digit(2) + 100 * digit(1) + 1000 * digit(0);
  const known = DIGIT_MAGICS.get(value);
  if (known === undefined) return undefined;
  const [format, version] = known;
  const canonical = five === `${value}\n`;
  return {
    magic: String(value),
    version,
    format,
    ...(canonical ? {} : { anomaly: `magic ${JSON.stringify(five)} read as ${value}` }),
  };
}

/**
 * Parses the header at the start of `head`, or returns a reason R would not read it
 * ({@link HEADER_TRUNCATED} when the head ends first).
 * @param head - the first bytes (a few hundred are enough unless the ASCII header is padded)
 */
export function parseRHeader(head: Uint8Array): RHeader | string {
  try {
    return parse(head);
  } catch (e) {
    if (e instanceof Stop) return e.reason;
    throw e;
  }
}

function parse(head: Uint8Array): RHeader {
  const magic = readMagic(head);
  if (magic === "unknown") throw new Stop("unsupported workspace magic");
  const anomalies: string[] = [];
  if (magic?.anomaly !== undefined) anomalies.push(magic.anomaly);
  if (magic !== undefined && (magic.version === 0 || magic.version === 1)) {
    const format = magic.format!;
    const legacy: RLegacy = magic.version === 1 ? "v1" : "pre-1.0";
    // the table sizes (symbols and environments; symbols, nodes and total size before 1.0)
    const ints = new HeadReader(head, 5, format);
    const counts = legacy === "v1" ? [ints.int(), ints.int()] : [ints.int(), ints.int(), ints.int()];
    if (counts.some((n) => n < 0)) throw new Stop("negative table size");
    // the pre-1.0 ASCII loader reads its symbol names as quoted strings
    if (legacy === "pre-1.0" && format === "ascii" && counts[0]! > 0 && !head.includes(0x22))
      throw new Stop("no quoted symbol names");
    return {
      kind: "rdata",
      format,
      version: magic.version,
      writer: 0,
      minReader: 0,
      itemStart: 5,
      anomalies,
      magic: magic.magic,
      legacy,
    };
  }
  const start = magic === undefined ? 0 : 5;
  const b0 = head[start];
  let format: RStreamFormat | undefined;
  let pos: number;
  if (b0 === 0x0a && head[start + 1] === 0x41) {
    // InFormat's allowance for a newline left by a previous ASCII stream: `\nA` and one more byte
    format = "ascii";
    pos = start + 3;
    anomalies.push("format line starts with a newline");
  } else {
    format = FORMATS[b0 ?? -1];
    pos = start + 2;
    if (format !== undefined && head[start + 1] !== 0x0a)
      anomalies.push(`format line ${JSON.stringify(String.fromCharCode(b0!, head[start + 1] ?? 0))}`);
  }
  if (format === undefined) throw new Stop("no serialization format line");
  if (pos > head.length) throw new Stop(HEADER_TRUNCATED);
  if (magic?.format !== undefined && magic.format !== format) throw new Stop("format line does not match the magic");
  const letter = magic?.magic.startsWith("RD") === true ? LETTER_FORMATS[magic.magic[2]!] : undefined;
  if (letter !== undefined && letter !== format)
    anomalies.push(`workspace magic ${magic!.magic} before a ${format} stream`);
  const ints = new HeadReader(head, pos, format);
  const version = ints.int();
  if (version !== 2 && version !== 3) throw new Stop(`unsupported serialization version ${version}`);
  const writer = ints.int();
  const minReader = ints.int();
  if (!plausibleVersion(writer) || !plausibleVersion(minReader))
    anomalies.push(`implausible R versions (written by ${rVersion(writer)}, read by ${rVersion(minReader)})`);
  if (ints.odd.length > 0) anomalies.push(`ASCII numbers written ${ints.odd.map((w) => JSON.stringify(w)).join(", ")}`);
  const kind = magic === undefined ? "rds" : "rdata";
  const common = { kind, format, version, writer, minReader, ...(magic ? { magic: magic.magic } : {}) } as const;
  if (version === 2) return { ...common, itemStart: ints.pos, anomalies };
  let length = ints.int();
  if (length > MAX_ENCODING) throw new Stop("invalid native encoding length");
  if (length < 0) {
    anomalies.push(`negative native encoding length ${length}`);
    length = 0;
  }
  const bytes = ints.text(length);
  if (!bytes.every((b) => b >= 0x20 && b < 0x7f)) anomalies.push("native encoding name is not printable");
  const encoding = charCodes(bytes);
  return { ...common, encoding, itemStart: ints.pos, anomalies };
}

/** Whether a packed version is one R could have written (1.4.0 to 99.x). */
const plausibleVersion = (v: number): boolean => v >= 0x010400 && v < 0x640000;

const rVersion = (v: number): string => (v >= 0 ? rVersionString(v) : String(v));
