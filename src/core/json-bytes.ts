/**
 * JSON documents read from bytes the way Python reads them: `json.loads(b)` (and `json.load` of a
 * file opened in binary mode) does not assume UTF-8. It picks UTF-8, UTF-8 with a byte-order mark,
 * UTF-16 or UTF-32 (either byte order) from a byte-order mark or, failing one, from which of the
 * first four bytes are zero (JSON text opens with ASCII), then decodes the whole document with the
 * `surrogatepass` error handler: unpaired surrogates pass, anything else that does not decode makes
 * the load raise. Keras 3 reads the `config.json` of a `.keras` archive that way, so a config
 * written in UTF-16 or UTF-32 is what Keras builds; read as UTF-8 it would hide its layers.
 *
 * {@link decodeJsonBytes} decodes as Python does and throws where Python raises (never U+FFFD);
 * {@link jsonOpeningEncoding} recognises the start of JSON text as Python decodes it.
 * @module
 */
import { ModelgateError } from "./errors.js";

/** The codecs Python's `json` chooses for bytes (its names). */
export type JsonBytesEncoding =
  | "utf-8"
  | "utf-8-sig"
  | "utf-16"
  | "utf-16-le"
  | "utf-16-be"
  | "utf-32"
  | "utf-32-le"
  | "utf-32-be";

/**
 * The codec Python's `json.loads` decodes these bytes with:
 * - a UTF-32 byte-order mark (`FF FE 00 00`, `00 00 FE FF`; looked for before UTF-16's, whose
 *   little-endian mark it starts with): `utf-32`; a UTF-16 mark (`FF FE`, `FE FF`): `utf-16`; the
 *   UTF-8 mark (`EF BB BF`): `utf-8-sig`;
 * - four bytes or more without a mark: a zero first byte means big-endian (`utf-32-be` when the
 *   second byte is zero too, else `utf-16-be`); a zero second byte means little-endian
 *   (`utf-32-le` when the third and fourth are zero, else `utf-16-le`);
 * - exactly two bytes: a zero first byte is `utf-16-be`, a zero second one `utf-16-le`;
 * - anything else: `utf-8`.
 * Only the first four bytes matter, so a head of the document gives the same answer as the whole.
 * @param bytes - the document, or its first bytes (at least four when it has them)
 */
export function detectJsonEncoding(bytes: Uint8Array): JsonBytesEncoding {
  const [b0, b1, b2, b3] = bytes;
  const n = bytes.length;
  if (
    n >= 4 &&
    ((b0 === 0xff && b1 === 0xfe && b2 === 0 && b3 === 0) || (b0 === 0 && b1 === 0 && b2 === 0xfe && b3 === 0xff))
  )
    return "utf-32";
  if (n >= 2 && ((b0 === 0xff && b1 === 0xfe) || (b0 === 0xfe && b1 === 0xff))) return "utf-16";
  if (n >= 3 && b0 === 0xef && b1 === 0xbb && b2 === 0xbf) return "utf-8-sig";
  if (n >= 4) {
    if (b0 === 0) return b1 === 0 ? "utf-32-be" : "utf-16-be";
    if (b1 === 0) return b2 === 0 && b3 === 0 ? "utf-32-le" : "utf-16-le";
  } else if (n === 2) {
    if (b0 === 0) return "utf-16-be";
    if (b1 === 0) return "utf-16-le";
  }
  return "utf-8";
}

/** A document decoded by {@link decodeJsonBytes}. */
export interface DecodedJsonBytes {
  /** The text Python's `json` parses (byte-order mark removed). */
  readonly text: string;
  /** The codec it was decoded with. */
  readonly encoding: JsonBytesEncoding;
}

const CHUNK = 0x2000;

/** A string of UTF-16 code units, lone surrogates kept. */
function fromUnits(units: Uint16Array, length: number): string {
  let out = "";
  for (let at = 0; at < length; at += CHUNK) {
    out += String.fromCharCode(...units.subarray(at, Math.min(length, at + CHUNK))); // bounded: CHUNK units
  }
  return out;
}

/** What a decoder does with bytes that do not decode: throw (as Python does), or go on. */
type OnError = (offset: number, why: string) => void;

function strict(encoding: JsonBytesEncoding): OnError {
  return (offset, why) => {
    throw new ModelgateError(
      "MALFORMED",
      `bytes at ${offset} cannot be decoded as ${encoding} (${why}); Python's json.loads raises on them`,
      { offset },
    );
  };
}

/** Appends a code point as UTF-16 code units; returns the new length. */
function push(units: Uint16Array, n: number, cp: number): number {
  if (cp < 0x10000) {
    units[n] = cp;
    return n + 1;
  }
  units[n] = 0xd800 + ((cp - 0x10000) >> 10);
  units[n + 1] = 0xdc00 + ((cp - 0x10000) & 0x3ff);
  return n + 2;
}

const fatalUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * UTF-8 as CPython decodes it with `surrogatepass`: strict, except that a surrogate encoded in
 * three bytes (`ED A0..BF 80..BF`) is a (lone) surrogate. Errors point at the sequence's first byte.
 */
function decodeUtf8(bytes: Uint8Array, base: number, fail: OnError): string {
  try {
    return fatalUtf8.decode(bytes);
  } catch {
    // an invalid sequence, or an encoded surrogate, which surrogatepass lets through
  }
  const units = new Uint16Array(bytes.length);
  let n = 0;
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b < 0x80) {
      units[n++] = b;
      i++;
      continue;
    }
    let need: number;
    let cp: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
      cp = b & 0x1f;
    } else if (b >= 0xe0 && b <= 0xef) {
      // E0 needs A0..BF (no overlong form); ED's A0..BF are the surrogates surrogatepass admits.
      need = 2;
      cp = b & 0x0f;
      if (b === 0xe0) lo = 0xa0;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      cp = b & 0x07;
      if (b === 0xf0) lo = 0x90;
      if (b === 0xf4) hi = 0x8f;
    } else {
      fail(base + i, "invalid start byte");
      units[n++] = 0xfffd;
      i++;
      continue;
    }
    let k = 1;
    let why: string | undefined;
    for (; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined) why = "unexpected end of data";
      else if (c < (k === 1 ? lo : 0x80) || c > (k === 1 ? hi : 0xbf)) why = "invalid continuation byte";
      if (why !== undefined || c === undefined) break;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (why !== undefined) {
      fail(base + i, why);
      units[n++] = 0xfffd;
      i += k;
      continue;
    }
    n = push(units, n, cp);
    i += need + 1;
  }
  return fromUnits(units, n);
}

const fatalUtf16 = {
  le: new TextDecoder("utf-16le", { fatal: true, ignoreBOM: true }),
  be: new TextDecoder("utf-16be", { fatal: true, ignoreBOM: true }),
};

/**
 * UTF-16 with `surrogatepass`: every code unit is kept; an odd trailing byte is truncated data
 * (dropped when the caller goes on).
 */
function decodeUtf16(bytes: Uint8Array, little: boolean, base: number, fail: OnError): string {
  const even = bytes.length & ~1;
  if (even !== bytes.length) fail(base + even, "truncated data");
  try {
    return (little ? fatalUtf16.le : fatalUtf16.be).decode(bytes.subarray(0, even));
  } catch {
    // a lone surrogate, which surrogatepass keeps
  }
  const units = new Uint16Array(even / 2);
  for (let i = 0; i < units.length; i++) {
    const x = bytes[2 * i]!;
    const y = bytes[2 * i + 1]!;
    units[i] = little ? x | (y << 8) : (x << 8) | y;
  }
  return fromUnits(units, units.length);
}

/**
 * UTF-32 with `surrogatepass`: surrogates kept; a code point past U+10FFFF fails (U+FFFD when the
 * caller goes on), a partial trailing unit is truncated data (dropped when the caller goes on).
 */
function decodeUtf32(bytes: Uint8Array, little: boolean, base: number, fail: OnError): string {
  const whole = bytes.length - (bytes.length % 4);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const units = new Uint16Array(whole / 2);
  let n = 0;
  for (let at = 0; at < whole; at += 4) {
    const cp = view.getUint32(at, little);
    if (cp > 0x10ffff) {
      fail(base + at, "code point not in range(0x110000)");
      units[n++] = 0xfffd;
    } else {
      n = push(units, n, cp);
    }
  }
  if (whole !== bytes.length) fail(base + whole, "truncated data");
  return fromUnits(units, n);
}

/**
 * Decodes a JSON document as Python's `json.loads(bytes)` does (see {@link detectJsonEncoding}).
 * @param bytes - the whole document
 * @param options - `lossy`: go on where Python raises (U+FFFD for what does not decode, a partial
 *   trailing UTF-16/32 unit dropped), to look into a document already reported as undecodable,
 *   never to pass it
 * @returns the text and the codec
 * @throws ModelgateError `MALFORMED` (with the byte offset) where Python's decoding raises
 */
export function decodeJsonBytes(bytes: Uint8Array, options: { lossy?: boolean } = {}): DecodedJsonBytes {
  const encoding = detectJsonEncoding(bytes);
  const fail: OnError = options.lossy === true ? () => {} : strict(encoding);
  let text: string;
  switch (encoding) {
    case "utf-8":
      text = decodeUtf8(bytes, 0, fail);
      break;
    case "utf-8-sig":
      text = decodeUtf8(bytes.subarray(3), 3, fail);
      break;
    case "utf-16":
      text = decodeUtf16(bytes.subarray(2), bytes[0] === 0xff, 2, fail);
      break;
    case "utf-16-le":
    case "utf-16-be":
      text = decodeUtf16(bytes, encoding === "utf-16-le", 0, fail);
      break;
    case "utf-32":
      text = decodeUtf32(bytes.subarray(4), bytes[0] === 0xff, 4, fail);
      break;
    case "utf-32-le":
    case "utf-32-be":
      text = decodeUtf32(bytes, encoding === "utf-32-le", 0, fail);
      break;
  }
  return { text, encoding };
}

/**
 * Decodes the first bytes of a document as Python's `json` would, leniently (what does not decode,
 * a character cut at the end included, becomes U+FFFD): for sniffing, not for analysis.
 * @param head - the first bytes (or the whole document)
 */
export function decodeJsonHead(head: Uint8Array): DecodedJsonBytes {
  return decodeJsonBytes(head, { lossy: true });
}

/** JSON text's opening: whitespace, then an object (key or `}`) or an array (a value or `]`). */
const JSON_OPENING = /^[ \t\n\r]*(?:\{[ \t\n\r]*["}]|\[[ \t\n\r]*["{[\]\-0-9tfn])/;

/**
 * The codec Python's `json` reads these bytes with, when the text it decodes them to opens like
 * JSON (whatever follows: whether the whole document decodes is for the analyzer that reads it).
 * @param head - the first bytes of the stream
 */
export function jsonOpeningEncoding(head: Uint8Array): JsonBytesEncoding | undefined {
  const { text, encoding } = decodeJsonHead(head.subarray(0, Math.min(head.length, 256)));
  return JSON_OPENING.test(text) ? encoding : undefined;
}
