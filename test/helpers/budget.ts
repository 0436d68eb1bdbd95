/** A decompression budget for tests: counts what it is charged, throws past `max` bytes. */
import type { DecompressionBudget } from "../../src/containers/compressed/decoded-source.js";

/**
 * @param max - bytes it allows
 * @param maxRatio - the ratio budget
 */
export function testBudget(max = 1 << 30, maxRatio = 1000): DecompressionBudget & { used: number } {
  const b = {
    used: 0,
    maxRatio,
    charge(n: number) {
      b.used += n;
      if (b.used > max) throw Object.assign(new Error("over"), { over: true });
    },
  };
  return b;
}
