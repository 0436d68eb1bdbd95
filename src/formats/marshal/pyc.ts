/**
 * CPython bytecode files (`.pyc`): the header (a version-specific 16-bit magic followed by `\r\n`,
 * then the flags, source mtime/hash and size fields whose count depends on the version) and where
 * the marshalled module code object starts. Python imports a `.pyc` found directly in a `sys.path`
 * folder as a module without any source, so a `.pyc` is code exactly as a `.py` is.
 * @module
 */
import type { Detection } from "../../core/formats.js";

/** What a `.pyc` header says. */
export interface PycHeader {
  /** The 16-bit magic number (little-endian), e.g. 3495 for CPython 3.11. */
  readonly magic: number;
  /** The CPython version it belongs to (`"3.11"`, `"3.x"`, `"2.x"`). */
  readonly version: string;
  /** Where the marshalled code object starts. */
  readonly codeOffset: number;
  /** PEP 552 flags (3.7+): bit 0 hash-based, bit 1 check the source. */
  readonly flags: number;
}

/** Magic numbers of CPython releases (the last of each minor version's range starts it). */
const VERSIONS: readonly [first: number, version: string][] = [
  [3600, "3.14"],
  [3550, "3.13"],
  [3500, "3.12"],
  [3450, "3.11"],
  [3430, "3.10"],
  [3420, "3.9"],
  [3400, "3.8"],
  [3390, "3.7"],
  [3360, "3.6"],
  [3320, "3.5"],
  [3250, "3.4"],
  [3190, "3.3"],
  [3000, "3.x"],
];

/**
 * Reads a `.pyc` header; undefined when the bytes are not one (no `\r\n` after the magic, a magic
 * outside CPython's ranges, reserved flags, or no code object where the header ends).
 * @param bytes - the file's first bytes (at least 17)
 */
export function readPycHeader(bytes: Uint8Array): PycHeader | undefined {
  if (bytes.length < 17 || bytes[2] !== 0x0d || bytes[3] !== 0x0a) return undefined;
  const magic = (bytes[0] as number) | ((bytes[1] as number) << 8);
  let version: string;
  let codeOffset: number;
  let flags = 0;
  if (magic >= 3000 && magic < 4000) {
    version = VERSIONS.find(([first]) => magic >= first)?.[1] ?? "3.x";
    if (magic >= 3390) {
      codeOffset = 16;
      // a 32-bit little-endian word of which only the two low bits are defined
      flags = bytes[4] as number;
      if (flags > 3 || bytes[5] !== 0 || bytes[6] !== 0 || bytes[7] !== 0) return undefined;
    } else codeOffset = magic >= 3190 ? 12 : 8;
  } else if (magic >= 20121 && magic <= 62211) {
    version = "2.x";
    codeOffset = 8;
  } else return undefined;
  // the module's code object: marshal type `c`, with or without the reference flag
  const type = bytes[codeOffset];
  if (type !== 0x63 && type !== 0xe3) return undefined;
  return { magic, version, codeOffset, flags };
}

/**
 * Recognises CPython bytecode by its header, whatever the file is called.
 * @param input - the file's first bytes
 */
export function detectPyc(input: { readonly head: Uint8Array }): Detection | undefined {
  const header = readPycHeader(input.head);
  return header === undefined
    ? undefined
    : { format: "pyc", offset: 0, reason: `CPython ${header.version} bytecode (magic ${header.magic})` };
}
