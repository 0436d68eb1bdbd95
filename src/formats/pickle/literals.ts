/**
 * Parsers of the text arguments of protocol 0 opcodes, with CPython's exact semantics: INT, LONG
 * and FLOAT lines (C number parsing that ends at a NUL, then Python's `int(s, 0)`), GET/PUT memo
 * indexes, STRING's quoted and escaped Python 2 literals, UNICODE's raw-unicode-escape, GLOBAL/INST
 * and PERSID lines, and LONG1/LONG4 two's-complement integers. The sniffer uses the same grammar
 * ({@link acceptsLine}).
 * @module
 */
import type { OpArg } from "./decoder.js";
import { PickleError } from "./decoder.js";
import { decodeUtf8, latin1, type Value } from "./values.js";

function lineText(a: OpArg): string {
  return latin1(a.buf, a.start, a.end);
}

export function utf8Line(buf: Uint8Array, start: number, end: number, offset: number, op: string): string {
  if (end - start < 1) throw new PickleError(`${op}: empty line (pickle data was truncated)`, offset);
  const d = decodeUtf8(buf, start, end);
  if (!d.ok) throw new PickleError(`${op}: line is not valid UTF-8`, offset);
  return d.text;
}

export function asciiLine(buf: Uint8Array, start: number, end: number, offset: number, op: string): string {
  if (op !== "PERSID" && end - start < 1)
    throw new PickleError(`${op}: empty line (pickle data was truncated)`, offset);
  for (let i = start; i < end; i++) {
    if ((buf[i] as number) >= 0x80) throw new PickleError(`${op}: line is not ASCII`, offset);
  }
  return latin1(buf, start, end);
}

/** The line up to its first NUL: CPython parses number lines as C strings. */
function cString(raw: string): string {
  const nul = raw.indexOf("\0");
  return nul < 0 ? raw : raw.slice(0, nul);
}

/**
 * What `load_int` reads from a line (without its newline): C `strtol(s, &end, 0)` ending at the
 * newline or a NUL, else Python `int(s, 0)` on the C string; `len == 3` lines of 0/1 are bools.
 * Undefined when CPython raises.
 */
export function intLineValue(raw: string): bigint | boolean | undefined {
  if (raw.length < 1) return undefined;
  const s = cString(raw);
  // strtol("") converts nothing and leaves its end pointer on the NUL: CPython accepts 0.
  const c = s === "" ? 0n : cStrtol(s);
  if (c !== undefined) return raw.length === 2 && (c === 0n || c === 1n) ? c === 1n : c;
  return pyIntLiteral(s);
}

/** What `load_long` reads: a trailing `L` (just before the newline) dropped, then `int(s, 0)` on the C string. */
export function longLineValue(raw: string): bigint | undefined {
  if (raw.length < 1) return undefined;
  return pyIntLiteral(cString(raw.endsWith("L") ? raw.slice(0, -1) : raw));
}

/** What `load_float` reads: `PyOS_string_to_double` ending at the newline or a NUL. */
function floatLineValue(raw: string): number | undefined {
  const s = cString(raw);
  const t = s.toLowerCase();
  if (/^[+-]?(inf|infinity)$/.test(t)) return t.startsWith("-") ? -Infinity : Infinity;
  if (/^[+-]?nan$/.test(t)) return Number.NaN;
  return FLOAT_LINE.test(s) ? Number(s) : undefined;
}

export function parseIntLine(a: OpArg, offset: number): Value {
  const v = intLineValue(lineText(a));
  if (v === undefined) throw new PickleError("could not convert string to int", offset);
  return typeof v === "boolean" ? v : normInt(v);
}

export function parseLongLine(a: OpArg, offset: number): Value {
  const v = longLineValue(lineText(a));
  if (v === undefined) throw new PickleError("invalid literal for LONG", offset);
  return normInt(v);
}

/**
 * Whether CPython's `load_int`/`load_long`/`load_float` accept a protocol 0 line (without its
 * newline): the sniffer uses the same grammar as the engine.
 * @param op - the opcode's letter
 * @param line - the argument line
 */
export function acceptsLine(op: "I" | "L" | "F", line: string): boolean {
  if (op === "I") return intLineValue(line) !== undefined;
  if (op === "L") return longLineValue(line) !== undefined;
  return floatLineValue(line) !== undefined;
}

const FLOAT_LINE = /^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?)$/;

export function parseDecimal(a: OpArg, offset: number, op: string): number {
  const n = decimalLineValue(lineText(a));
  if (n === undefined) throw new PickleError(`${op}: invalid memo index`, offset);
  if (!Number.isSafeInteger(n)) throw new PickleError(`${op}: memo index out of range`, offset);
  return n;
}

/**
 * What GET and PUT read from a line (without its newline): `PyLong_FromString(s, NULL, 10)` on the
 * C string (up to a NUL), which accepts surrounding whitespace and underscores between digits
 * (`1_0`). Undefined when CPython raises; a number that may not be a safe integer otherwise.
 */
export function decimalLineValue(raw: string): number | undefined {
  const m = /^[ \t\n\v\f\r]*([+-]?\d(?:_?\d)*)[ \t\n\v\f\r]*$/.exec(cString(raw));
  return m === null ? undefined : Number((m[1] as string).replace(/_/g, ""));
}

export function parseFloatLine(a: OpArg, offset: number): number {
  const v = floatLineValue(lineText(a));
  if (v === undefined) throw new PickleError("could not convert string to float", offset);
  return v;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = -MAX_SAFE;

export function normInt(v: bigint): number | bigint {
  return v >= MIN_SAFE && v <= MAX_SAFE ? Number(v) : v;
}

function cStrtol(s: string): bigint | undefined {
  const m = /^[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  if (m === null) return undefined;
  const body = m[2] ?? "0";
  let v: bigint;
  if (/^0[xX]/.test(body)) v = BigInt(body);
  else if (body.length > 1 && body.startsWith("0")) v = BigInt(`0o${body.slice(1)}`);
  else v = BigInt(body);
  v = m[1] === "-" ? -v : v;
  // strtol overflows past a C long; CPython then re-parses with int(s, 0).
  if (v > 0x7fffffffffffffffn || v < -0x8000000000000000n) return undefined;
  return v;
}

function pyIntLiteral(s: string): bigint | undefined {
  const t = s.trim();
  const m = /^([+-]?)(0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|0(?:_?0)*|[1-9](?:_?\d)*)$/.exec(t);
  if (m === null) return undefined;
  const body = (m[2] ?? "0").replace(/_/g, "");
  const v = BigInt(body);
  return m[1] === "-" ? -v : v;
}

const SCRATCH = new DataView(new ArrayBuffer(8));

/**
 * The little-endian two's-complement integer of LONG1/LONG4 bytes: a number when it is a safe
 * integer, else a bigint.
 * @param buf - bytes
 * @param start - first byte
 * @param end - end, exclusive
 */
export function twosComplement(buf: Uint8Array, start: number, end: number): number | bigint {
  const n = end - start;
  if (n === 0) return 0;
  if (n <= 8) {
    // sign-extended into 64 bits, as two 32-bit halves
    const fill = ((buf[end - 1] as number) & 0x80) !== 0 ? 0xff : 0;
    let lo = 0;
    let hi = 0;
    for (let i = 7; i >= 0; i--) {
      const b = i < n ? (buf[start + i] as number) : fill;
      if (i >= 4) hi = (hi << 8) | b;
      else lo = lo * 256 + b;
    }
    // hi is signed (the << 8 of the top byte wraps to its sign), lo unsigned
    if (hi >= -0x200000 && hi < 0x200000) {
      const v = hi * 4294967296 + lo;
      if (Number.isSafeInteger(v)) return v;
    }
    SCRATCH.setUint32(0, lo, true);
    SCRATCH.setInt32(4, hi, true);
    return SCRATCH.getBigInt64(0, true);
  }
  let v = 0n;
  for (let i = end - 1; i >= start; i--) v = (v << 8n) | BigInt(buf[i] as number);
  if (((buf[end - 1] as number) & 0x80) !== 0) v -= 1n << BigInt(8 * n);
  return normInt(v);
}

/** Python 2 `str` literal of the STRING opcode: quoted, backslash-escaped. */
export function parseQuotedString(a: OpArg, offset: number): string {
  const buf = a.buf;
  const len = a.end - a.start;
  const q = buf[a.start];
  if (len < 2 || q !== buf[a.end - 1] || (q !== 0x27 && q !== 0x22)) {
    throw new PickleError("the STRING opcode argument must be quoted", offset);
  }
  let out = "";
  const end = a.end - 1;
  for (let i = a.start + 1; i < end; i++) {
    const c = buf[i] as number;
    if (c !== 0x5c || i + 1 >= end) {
      if (c === 0x5c) throw new PickleError("STRING: trailing \\ in string", offset);
      out += String.fromCharCode(c);
      continue;
    }
    const e = buf[++i] as number;
    switch (e) {
      case 0x0a:
        break;
      case 0x5c:
        out += "\\";
        break;
      case 0x27:
        out += "'";
        break;
      case 0x22:
        out += '"';
        break;
      case 0x62:
        out += "\b";
        break;
      case 0x66:
        out += "\f";
        break;
      case 0x74:
        out += "\t";
        break;
      case 0x6e:
        out += "\n";
        break;
      case 0x72:
        out += "\r";
        break;
      case 0x76:
        out += "\v";
        break;
      case 0x61:
        out += "\x07";
        break;
      case 0x78: {
        const hex = String.fromCharCode(buf[i + 1] ?? 0, buf[i + 2] ?? 0);
        if (i + 2 >= end || !/^[0-9a-fA-F]{2}$/.test(hex)) {
          throw new PickleError("STRING: invalid \\x escape", offset);
        }
        out += String.fromCharCode(Number.parseInt(hex, 16));
        i += 2;
        break;
      }
      default:
        if (e >= 0x30 && e <= 0x37) {
          let v = e - 0x30;
          for (
            let k = 0;
            k < 2 && i + 1 < end && (buf[i + 1] as number) >= 0x30 && (buf[i + 1] as number) <= 0x37;
            k++
          ) {
            v = v * 8 + ((buf[++i] as number) - 0x30);
          }
          out += String.fromCharCode(v & 0xff);
        } else {
          out += `\\${String.fromCharCode(e)}`;
        }
    }
  }
  return out;
}

/**
 * `raw-unicode-escape` decoding of a UNICODE line, as CPython's codec does it with strict errors:
 * a backslash and the character after it are read as a pair, so `\uXXXX` / `\UXXXXXXXX` is an
 * escape only after an odd run of backslashes (`\\u0041` stays seven characters); a lone
 * backslash at the end stays; an escape with fewer hex digits, or above U+10FFFF, raises.
 * @param buf - bytes
 * @param start - first byte of the line
 * @param end - end of the line (its newline excluded)
 * @param offset - the opcode's offset (for errors)
 */
export function rawUnicodeEscape(buf: Uint8Array, start: number, end: number, offset = -1): string {
  let out = "";
  let from = start; // bytes from here to i are copied as they are
  let i = start;
  while (i < end) {
    if (buf[i] !== 0x5c || i + 1 >= end) {
      i++;
      continue;
    }
    const e = buf[i + 1] as number;
    if (e !== 0x75 && e !== 0x55) {
      i += 2; // the pair stays as it is (a second backslash too: it escapes nothing)
      continue;
    }
    out += latin1(buf, from, i);
    const w = e === 0x75 ? 4 : 8;
    let cp = 0;
    for (let k = 0; k < w; k++) {
      const d = hexDigit(buf[i + 2 + k]);
      if (i + 2 + k >= end || d < 0) {
        throw new PickleError(
          `UNICODE: 'rawunicodeescape' codec can't decode: truncated \\${e === 0x75 ? "uXXXX" : "UXXXXXXXX"} escape`,
          offset,
        );
      }
      cp = cp * 16 + d;
    }
    if (cp > 0x10ffff)
      throw new PickleError("UNICODE: 'rawunicodeescape' codec can't decode: \\Uxxxxxxxx out of range", offset);
    out += cp > 0xffff ? String.fromCodePoint(cp) : String.fromCharCode(cp);
    i += 2 + w;
    from = i;
  }
  return out + latin1(buf, from, end);
}

function hexDigit(c: number | undefined): number {
  if (c === undefined) return -1;
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}
