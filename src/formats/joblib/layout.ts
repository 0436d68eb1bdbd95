/**
 * Recognising joblib content from its first bytes, for the sniffer and the name claims: joblib's
 * `NumpyPickler` pickles every NumPy array as a `joblib.numpy_pickle.NumpyArrayWrapper` followed by
 * the array's bytes inline, so the wrapper's global marks a joblib stream (a `.pkl` written by
 * `joblib.dump` included). Streams whose first array lies beyond the head, or that hold no array,
 * are not recognised; they read as plain pickles (the pickle analyzer still refines them to `joblib`).
 * joblib's pre-0.10 `ZF` files are recognised by their header ({@link readZfileHeader}).
 * @module
 */

const MODULE = new TextEncoder().encode("joblib.numpy_pickle");
const CLASS = new TextEncoder().encode("NumpyArrayWrapper");
/**
 * Most bytes between the module and class names: a GLOBAL line's newline, or what STACK_GLOBAL's
 * two strings carry between them (MEMOIZE or BINPUT, then the class name's opcode and length).
 */
const MAX_GAP = 8;

function indexOf(bytes: Uint8Array, needle: Uint8Array, from: number, to = bytes.length): number {
  const first = needle[0];
  const last = Math.min(to, bytes.length - needle.length);
  for (let i = bytes.indexOf(first ?? 0, from); i !== -1 && i <= last; i = bytes.indexOf(first ?? 0, i + 1)) {
    let j = 1;
    while (j < needle.length && bytes[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
  }
  return -1;
}

/**
 * Whether these first bytes of a pickle hold joblib's `NumpyArrayWrapper` global (as a GLOBAL line
 * or the two strings of STACK_GLOBAL).
 * @param head - the stream's first bytes (the sniffer's head)
 */
export function hasJoblibArrayWrapper(head: Uint8Array): boolean {
  for (let at = indexOf(head, MODULE, 0); at !== -1; at = indexOf(head, MODULE, at + 1)) {
    const end = at + MODULE.length;
    if (indexOf(head, CLASS, end, end + MAX_GAP) !== -1) return true;
  }
  return false;
}

/** Bytes of joblib's pre-0.10 `ZF` header: "ZF", then the length field (`len(hex(2**64))` = 19 bytes). */
export const ZFILE_HEADER = 2 + 19;

/** What `joblib.load` reads from the header of a pre-0.10 `ZF` file. */
export interface ZfileHeader {
  /** The uncompressed length the header gives (joblib sizes its buffer by it; negative makes zlib raise). */
  readonly length: bigint;
  /** Where the zlib stream starts: after the header, and after one space when one follows it. */
  readonly dataOffset: number;
}

/** Python's `bytes.isspace` characters: tab, LF, VT, FF, CR, space. */
const isSpace = (b: number): boolean => b === 0x20 || (b >= 0x09 && b <= 0x0d);

function hexDigit(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  const lower = b | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

/**
 * Python's `int(field, 16)` over bytes: surrounding ASCII whitespace, an optional sign, an optional
 * `0x`/`0X` prefix (which one underscore may follow), then hex digits with single underscores
 * between them. Undefined where Python raises.
 */
function pythonHexInt(field: Uint8Array): bigint | undefined {
  let i = 0;
  let end = field.length;
  while (i < end && isSpace(field[i]!)) i++;
  while (end > i && isSpace(field[end - 1]!)) end--;
  let negative = false;
  if (field[i] === 0x2b || field[i] === 0x2d) negative = field[i++] === 0x2d;
  if (field[i] === 0x30 && (field[i + 1] === 0x78 || field[i + 1] === 0x58)) {
    i += 2;
    if (field[i] === 0x5f) i++;
  }
  let value = 0n;
  let digits = 0;
  for (let underscore = false; i < end; i++) {
    const b = field[i]!;
    if (b === 0x5f && !underscore && digits > 0) {
      underscore = true;
      continue;
    }
    const d = hexDigit(b);
    if (d < 0) return undefined;
    value = value * 16n + BigInt(d);
    digits++;
    underscore = false;
  }
  // no digit, or a trailing underscore (the loop only ends on one when it is the last byte)
  if (digits === 0 || field[end - 1] === 0x5f) return undefined;
  return negative ? -value : value;
}

/**
 * The header of a joblib pre-0.10 `ZF` file (`joblib.numpy_pickle_compat.read_zfile`): `joblib.load`
 * takes a file starting with "ZF" as one whatever its name, reads the next 19 bytes as a
 * hexadecimal length with Python's `int(…, 16)`, skips one space if one follows, and decompresses
 * the rest as one zlib stream. Undefined when the bytes do not start with "ZF", are shorter than
 * the header, or hold a length field `int()` rejects (joblib.load raises on those).
 * @param head - the file's first bytes (at least {@link ZFILE_HEADER} + 1 to see the space)
 */
export function readZfileHeader(head: Uint8Array): ZfileHeader | undefined {
  if (head.length < ZFILE_HEADER || head[0] !== 0x5a || head[1] !== 0x46) return undefined;
  const length = pythonHexInt(head.subarray(2, ZFILE_HEADER));
  if (length === undefined) return undefined;
  return { length, dataOffset: head[ZFILE_HEADER] === 0x20 ? ZFILE_HEADER + 1 : ZFILE_HEADER };
}
