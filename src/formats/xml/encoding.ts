/**
 * Decoders for the encodings `detect.ts` finds (UTF-8, UTF-16, UTF-32, ISO-8859-1, EBCDIC code
 * pages and the WHATWG encodings an XML declaration may name), streaming, and the check of a declaration against the
 * encoding in use. Used by the reader only, so detection does not load them.
 * @module
 */

import { EBCDIC_TABLES } from "./data-detect.js";
import { canonical, decodeEbcdic, LATIN1_NAMES, UTF8_NAMES, UTF16, UTF32, type XmlEncoding } from "./detect.js";

/** Decodes a document chunk by chunk. */
export interface XmlTextDecoder {
  /**
   * @param chunk - the next bytes
   * @param stream - more bytes follow
   * @throws TypeError on bytes invalid in the encoding
   */
  decode(chunk: Uint8Array, stream: boolean): string;
}

/**
 * Whether a declared encoding is compatible with the one in use (same name, or the same family
 * of UTF-16/UTF-32 for documents whose mark or pattern fixed the byte order).
 * @param declared - the declaration's `encoding`
 * @param used - the encoding decoding the document
 */
export function declarationMatches(declared: string, used: XmlEncoding): boolean {
  const d = declared.toLowerCase();
  if (used.name.startsWith("utf-16")) return UTF16.test(d);
  if (used.name.startsWith("utf-32")) return UTF32.test(d);
  if (used.name === "utf-8") return UTF8_NAMES.has(d);
  if (used.name === "latin1") return LATIN1_NAMES.has(d);
  return canonical(d) === used.name;
}

/** UTF-32 (either byte order), streaming. */
class Utf32Decoder implements XmlTextDecoder {
  private rest = new Uint8Array(0);
  constructor(private readonly littleEndian: boolean) {}
  decode(chunk: Uint8Array, stream: boolean): string {
    const all = new Uint8Array(this.rest.length + chunk.length);
    all.set(this.rest);
    all.set(chunk, this.rest.length);
    const whole = all.length - (all.length % 4);
    if (!stream && whole !== all.length) throw new TypeError("UTF-32 document ends inside a character");
    this.rest = all.slice(whole);
    const view = new DataView(all.buffer, all.byteOffset, whole);
    const parts: string[] = [];
    for (let k = 0; k < whole; k += 4) {
      const cp = view.getUint32(k, this.littleEndian);
      if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) throw new TypeError("invalid UTF-32 code point");
      parts.push(String.fromCodePoint(cp));
    }
    return parts.join("");
  }
}

/** ISO-8859-1 proper (WHATWG's `latin1` label is windows-1252). */
const latin1Decoder: XmlTextDecoder = {
  decode: (chunk) => Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length).toString("latin1"),
};

/**
 * A decoder for an encoding `sniffXmlEncoding` found (the byte order mark is not skipped); it
 * throws on bytes invalid in the encoding.
 * @param encoding - the encoding
 */
export function xmlDecoder(encoding: XmlEncoding): XmlTextDecoder {
  if (encoding.name === "utf-32le" || encoding.name === "utf-32be")
    return new Utf32Decoder(encoding.name === "utf-32le");
  if (encoding.name === "latin1") return latin1Decoder;
  const table = Object.hasOwn(EBCDIC_TABLES, encoding.name) ? EBCDIC_TABLES[encoding.name] : undefined;
  if (table !== undefined) return { decode: (chunk) => decodeEbcdic(chunk, table) };
  const decoder = new TextDecoder(encoding.name, { fatal: true, ignoreBOM: true });
  return { decode: (chunk, stream) => decoder.decode(chunk, { stream }) };
}
