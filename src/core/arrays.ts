/**
 * Array helpers for arrays whose length the input decides. Spreading an array into a call's
 * arguments (`push(...items)`, `Math.max(...values)`, `String.fromCharCode(...bytes)`) puts every
 * element on the call stack, and past about 100,000 of them V8 throws `RangeError: Maximum call
 * stack size exceeded` (an archive of 130,000 members made every member's facts overflow and the
 * whole scan's report was lost). These loop instead; `test/core/no-spread-calls.test.ts` keeps
 * spread calls out of `src/` except where a comment says what bounds them.
 * @module
 */

/** Appends `items` to `target` (in order) and returns `target`. */
export function pushAll<T>(target: T[], items: Iterable<T>): T[] {
  for (const item of items) target.push(item);
  return target;
}

/** Puts `items` (in order) before the elements of `target`. */
export function prependAll<T>(target: T[], items: readonly T[]): void {
  if (items.length === 0) return;
  const rest = target.splice(0);
  for (const item of items) target.push(item);
  for (const item of rest) target.push(item);
}

/** The largest of `values` (`-Infinity` when there are none, as `Math.max()`). */
export function maxOf(values: Iterable<number>): number {
  let max = Number.NEGATIVE_INFINITY;
  for (const v of values) if (v > max || Number.isNaN(v)) max = v;
  return max;
}

/** Bytes to characters, one per byte (Latin-1), in pieces small enough for the call stack. */
export function charCodes(bytes: Uint8Array): string {
  const PIECE = 8192;
  let out = "";
  for (let at = 0; at < bytes.length; at += PIECE) {
    out += String.fromCharCode(...bytes.subarray(at, at + PIECE)); // bounded: PIECE elements
  }
  return out;
}
