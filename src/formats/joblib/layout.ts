/**
 * Recognising joblib content from its first bytes, for the sniffer and the name claims: joblib's
 * `NumpyPickler` pickles every NumPy array as a `joblib.numpy_pickle.NumpyArrayWrapper` followed by
 * the array's bytes inline, so the wrapper's global marks a joblib stream (a `.pkl` written by
 * `joblib.dump` included). Streams whose first array lies beyond the head, or that hold no array,
 * are not recognised; they read as plain pickles (the pickle analyzer still refines them to `joblib`).
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
