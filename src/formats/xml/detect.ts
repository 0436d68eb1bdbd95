/**
 * The character encoding of an XML document, found as XML 1.0 Appendix F (and Xerces, expat,
 * libxml2) find it: a byte order mark (UTF-8, UTF-16LE/BE, UTF-32LE/BE), else the byte pattern of
 * `<?` (UTF-16 and UTF-32 without a mark; EBCDIC, whose declaration then names the code page),
 * else the `encoding` of an ASCII-compatible XML
 * declaration (ISO-8859-1, windows-1252, Shift_JIS ...), else UTF-8. Loaders decode UTF-16 and
 * Latin-1 documents as readily as UTF-8 ones, so the detector and the reader must too: a DOCTYPE
 * in UTF-16 is as live as one in UTF-8. Detection-time code (the reader's decoders are in
 * `encoding.ts`).
 * @module
 */

import { EBCDIC_LABELS, EBCDIC_TABLES } from "./data-detect.js";

/** How the document's bytes become text. */
export interface XmlEncoding {
  /** Canonical name (`utf-8`, `utf-16le`, `utf-32be`, `latin1`, or a WHATWG encoding name). */
  readonly name: string;
  /** Bytes of the byte order mark to skip. */
  readonly bom: number;
  /** Set by a byte order mark or the byte pattern of `<?` (a declaration then cannot change it). */
  readonly fixed: boolean;
}

/** An encoding of an XML declaration that cannot be decoded. */
export interface XmlEncodingError {
  readonly error: string;
}

export const UTF8_NAMES = new Set(["utf-8", "utf8", "us-ascii", "ascii"]);
export const LATIN1_NAMES = new Set([
  "iso-8859-1",
  "iso8859-1",
  "iso_8859-1",
  "latin1",
  "latin-1",
  "l1",
  "cp819",
  "ibm819",
]);
export const UTF16 = /^(?:utf-?16(?:le|be)?|ucs-?2|iso-10646-ucs-2|unicode)$/;
export const UTF32 = /^(?:utf-?32(?:le|be)?|ucs-?4|iso-10646-ucs-4)$/;
const DECLARATION =
  /^<\?xml[ \t\r\n]+version[ \t\r\n]*=[ \t\r\n]*(?:"[^"]*"|'[^']*')[ \t\r\n]+encoding[ \t\r\n]*=[ \t\r\n]*(?:"([^"]*)"|'([^']*)')/;

const starts = (b: Uint8Array, ...bytes: number[]): boolean => bytes.every((x, k) => b[k] === x);

/** The WHATWG name of an ASCII-compatible encoding label, or undefined. */
export function canonical(label: string): string | undefined {
  try {
    const name = new TextDecoder(label).encoding;
    return name.startsWith("utf-16") ? undefined : name;
  } catch {
    return undefined;
  }
}

/**
 * Finds a document's encoding from its first bytes.
 * @param head - the first bytes (a few hundred suffice; the XML declaration must be among them)
 */
export function sniffXmlEncoding(head: Uint8Array): XmlEncoding | XmlEncodingError {
  if (starts(head, 0x00, 0x00, 0xfe, 0xff)) return { name: "utf-32be", bom: 4, fixed: true };
  if (starts(head, 0xff, 0xfe, 0x00, 0x00)) return { name: "utf-32le", bom: 4, fixed: true };
  if (starts(head, 0xfe, 0xff)) return { name: "utf-16be", bom: 2, fixed: true };
  if (starts(head, 0xff, 0xfe)) return { name: "utf-16le", bom: 2, fixed: true };
  if (starts(head, 0x00, 0x00, 0x00, 0x3c)) return { name: "utf-32be", bom: 0, fixed: true };
  if (starts(head, 0x3c, 0x00, 0x00, 0x00)) return { name: "utf-32le", bom: 0, fixed: true };
  if (starts(head, 0x00, 0x3c, 0x00, 0x3f)) return { name: "utf-16be", bom: 0, fixed: true };
  if (starts(head, 0x3c, 0x00, 0x3f, 0x00)) return { name: "utf-16le", bom: 0, fixed: true };
  if (starts(head, 0x4c, 0x6f, 0xa7, 0x94)) return sniffEbcdic(head);
  const bom = starts(head, 0xef, 0xbb, 0xbf) ? 3 : 0;
  const text = Buffer.from(head.subarray(bom, bom + 1024)).toString("latin1");
  const m = DECLARATION.exec(text);
  const declared = m === null ? undefined : (m[1] ?? m[2] ?? "");
  if (declared === undefined || UTF8_NAMES.has(declared.toLowerCase())) return { name: "utf-8", bom, fixed: bom > 0 };
  const label = declared.toLowerCase();
  if (bom > 0)
    return { error: `a UTF-8 byte order mark with declared encoding ${JSON.stringify(declared.slice(0, 40))}` };
  if (LATIN1_NAMES.has(label)) return { name: "latin1", bom: 0, fixed: false };
  const name = canonical(label);
  if (name === undefined || UTF16.test(label) || UTF32.test(label)) {
    return { error: `unsupported declared encoding ${JSON.stringify(declared.slice(0, 40))}` };
  }
  return { name, bom: 0, fixed: false };
}

/** Bytes through an EBCDIC table. */
export function decodeEbcdic(bytes: Uint8Array, table: string): string {
  const parts: string[] = [];
  for (const b of bytes) parts.push(table[b] ?? "\ufffd");
  return parts.join("");
}

/** An EBCDIC document (`<?xm` in EBCDIC): the code page its declaration names. */
function sniffEbcdic(head: Uint8Array): XmlEncoding | XmlEncodingError {
  const m = DECLARATION.exec(decodeEbcdic(head.subarray(0, 1024), EBCDIC_TABLES.cp037 ?? ""));
  const declared = m === null ? "" : (m[1] ?? m[2] ?? "");
  const page = EBCDIC_LABELS[declared.toLowerCase()];
  if (page === undefined) return { error: `unsupported EBCDIC encoding ${JSON.stringify(declared.slice(0, 40))}` };
  return { name: page, bom: 0, fixed: true };
}

/**
 * The first bytes of a document as text for sniffing its root element: decoded from UTF-16 or
 * UTF-32 when a mark or pattern says so (byte order mark removed, undecodable units replaced),
 * otherwise as Latin-1 (every ASCII-compatible encoding spells markup the same). Undefined when an
 * ASCII-compatible head holds a NUL (binary content, not XML).
 * @param head - the first bytes
 */
export function decodeXmlHead(head: Uint8Array): string | undefined {
  const found = sniffXmlEncoding(head);
  const body = head.subarray("name" in found ? found.bom : 0);
  if ("name" in found && found.name.startsWith("utf-16")) {
    return new TextDecoder(found.name, { ignoreBOM: true }).decode(body.subarray(0, body.length & ~1));
  }
  if ("name" in found && found.name.startsWith("utf-32")) {
    const view = new DataView(body.buffer, body.byteOffset, body.length & ~3);
    let text = "";
    for (let k = 0; k < view.byteLength; k += 4) {
      const cp = view.getUint32(k, found.name === "utf-32le");
      text += cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ? "\ufffd" : String.fromCodePoint(cp);
    }
    return text;
  }
  if (starts(head, 0x4c, 0x6f, 0xa7, 0x94)) {
    // markup characters other than `!`, `[` and `]` are the same in every EBCDIC code page
    const table = EBCDIC_TABLES["name" in found ? found.name : "cp037"] ?? EBCDIC_TABLES.cp037 ?? "";
    return decodeEbcdic(head, table);
  }
  if (head.includes(0)) return undefined;
  return Buffer.from(body.buffer, body.byteOffset, body.length).toString("latin1");
}
