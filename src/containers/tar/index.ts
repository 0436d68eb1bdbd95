/**
 * The tar module: tar archives (legacy PyTorch checkpoints and NeMo archives are tars).
 *
 * Detection: recognises tar archives as GNU tar or Python's `tarfile` would read them. The header's numeric
 * fields and checksum are read here, and the reader (`./reader.ts`) uses the same functions: the
 * registry loads every detector with the first scan, and no reader with them.
 * @module
 */

import { type Detector, type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";
import { ascii, latin1, startsWith } from "../../core/sniffing.js";

const BLOCK = 512;

/**
 * Parses a numeric field: octal (with space/NUL padding) or GNU base-256. Returns NaN when the
 * field is not a number, and a negative value for negative base-256 numbers.
 */
export function parseTarNumber(b: Uint8Array, start: number, length: number): number {
  const first = b[start] as number;
  if (first & 0x80) {
    // base-256, big-endian two's complement; the first byte's top bit is the marker.
    const negative = (first & 0x40) !== 0;
    let value = negative ? (first & 0x7f) - 0x80 : first & 0x7f;
    for (let i = 1; i < length; i++) value = value * 256 + (b[start + i] as number);
    return value;
  }
  let i = start;
  const end = start + length;
  while (i < end && (b[i] === 0x20 || b[i] === 0)) i++;
  if (i === end) return 0;
  let value = 0;
  let digits = 0;
  for (; i < end; i++) {
    const c = b[i] as number;
    if (c >= 0x30 && c <= 0x37) {
      value = value * 8 + (c - 0x30);
      digits++;
    } else if (c === 0x20 || c === 0) {
      break;
    } else {
      return Number.NaN;
    }
  }
  for (; i < end; i++) if (b[i] !== 0x20 && b[i] !== 0) return Number.NaN;
  return digits === 0 ? Number.NaN : value;
}

/**
 * A numeric field as Python's `tarfile` reads it (`nti`): GNU base-256 after 0x80/0xff, else the
 * text up to the first NUL, stripped, as `int(s, 8)` (sign, `0o` prefix and `_` between digits
 * accepted, anything after the NUL ignored). `torch.load` opens legacy checkpoints with `tarfile`,
 * so a header it accepts must be read here too. NaN where `tarfile` raises.
 */
export function parseTarNumberAsPython(b: Uint8Array, start: number, length: number): number {
  const first = b[start] as number;
  if (first === 0x80 || first === 0xff) return parseTarNumber(b, start, length);
  let end = start;
  while (end < start + length && b[end] !== 0) end++;
  const bytes = b.subarray(start, end);
  if (!bytes.every((c) => c < 0x80)) return Number.NaN;
  // str.strip(): ASCII whitespace, which for Python includes the separators 0x1c-0x1f
  const space = (c: number) => c === 0x20 || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f);
  let a = 0;
  let z = bytes.length;
  while (a < z && space(bytes[a] as number)) a++;
  while (z > a && space(bytes[z - 1] as number)) z--;
  const text = latin1(bytes.subarray(a, z));
  if (text === "") return 0;
  const m = /^([+-]?)(?:0[oO]_?)?([0-7](?:_?[0-7])*)$/.exec(text);
  if (m === null) return Number.NaN;
  const value = Number.parseInt((m[2] ?? "").replace(/_/g, ""), 8);
  return m[1] === "-" ? -value : value;
}

/**
 * Whether a 512-byte header's checksum field matches its bytes, as GNU tar or Python's `tarfile`
 * reads the field (unsigned or signed sum).
 * @param h - the header block
 */
export function tarChecksumMatches(h: Uint8Array): boolean {
  // The field first: most blocks this meets (every archive member's head) hold no number there,
  // and then no sum can match.
  const stored = [parseTarNumber(h, 148, 8), parseTarNumberAsPython(h, 148, 8)].filter(Number.isFinite);
  if (stored.length === 0) return false;
  const sums = headerChecksums(h);
  return stored.some((n) => n === sums.unsigned || n === sums.signed);
}

/** The header's byte sums with the checksum field read as spaces, unsigned and signed. */
export function headerChecksums(h: Uint8Array): { unsigned: number; signed: number } {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const c = i >= 148 && i < 156 ? 0x20 : (h[i] as number);
    unsigned += c;
    signed += c > 127 ? c - 256 : c;
  }
  return { unsigned, signed };
}

export const detectTar: Detector = ({ head }) => {
  if (head.length < 512) return undefined;
  const ustar = startsWith(head, ascii("ustar"), 257);
  // Checksum as GNU tar or Python's tarfile (which torch.load uses for legacy checkpoints) reads it.
  // tarfile takes any block but an all-zero one (its end marker) whose checksum matches: an empty
  // name (byte 0 NUL) included. An all-zero block never gets here: its sum is 256 (eight spaces)
  // and its checksum field reads 0.
  if (tarChecksumMatches(head.subarray(0, 512))) {
    return { format: "tar", offset: 0, reason: ustar ? "ustar header" : "tar header checksum" };
  }
  // GNU tar still extracts an archive whose first checksum is wrong: the magic alone is enough
  // to walk it (the tar analyzer reports the bad checksum).
  const magic = startsWith(head, [...ascii("ustar"), 0, 0x30, 0x30], 257) || startsWith(head, ascii("ustar  \0"), 257);
  return magic ? { format: "tar", offset: 0, reason: "ustar magic (header checksum wrong)" } : undefined;
};

declare module "../../core/formats.js" {
  interface FormatRegistry {
    tar: true;
  }
}

const rules = lazyRules(import.meta.url, "./rules.js", "tarRules");

/** Tar archives. */
export const tarModule = {
  name: "tar",
  formats: [{ id: "tar", description: "tar archive", claimExtensions: ["tar", "nemo"] }],
  // torch.load tries tarfile.open on every non-zip file before reading it as pickles.
  detectors: [{ rank: 140, detect: detectTar, coexist: true }],
  analyzers: [lazyAnalyzer("tar", ["tar"], async () => (await import("./analyzer.js")).tarAnalyzer)],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
