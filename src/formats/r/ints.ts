/**
 * R's integer words and stream kinds, apart from the stream reader so that the header detector
 * (which reads ASCII version words the same way) loads no reader code.
 * @module
 */

/** How the stream encodes numbers. */
export type RStreamFormat = "xdr" | "binary" | "ascii";

/** R's NA_integer_. */
export const NA_INTEGER = -2147483648;

const LONG_MAX = 2n ** 63n - 1n;
const LONG_MIN = -(2n ** 63n);

/**
 * An ASCII integer word as R reads it (`NA`, else C's `sscanf(word, "%d")` on glibc): an optional
 * sign and leading digits, whatever follows (`3junk` is 3); the value is read as a C `long`
 * (saturated) and truncated to 32 bits. Undefined when `sscanf` fails (no digits).
 * @param word - one whitespace-free word
 */
export function scanInt(word: string): number | undefined {
  if (word === "NA") return NA_INTEGER;
  const m = /^[+-]?\d+/.exec(word);
  if (m === null) return undefined;
  let value = BigInt(m[0]);
  if (value > LONG_MAX) value = LONG_MAX;
  else if (value < LONG_MIN) value = LONG_MIN;
  return Number(BigInt.asIntN(32, value));
}
