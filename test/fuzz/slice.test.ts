/**
 * The fixed-seed slice of `npm run fuzz` that runs in `npm test`: every target's seeds, then a few
 * hundred mutants of them, through the same oracle as the long run (no crash, no internal error,
 * no timeout, a schema-valid report). `MODELGATE_FUZZ_SCALE` multiplies the mutant count and
 * `MODELGATE_FUZZ_SEED` changes the seed.
 */
import { describe, expect, it } from "vitest";
import { execute, Fuzzer } from "./engine.js";
import { TARGETS } from "./targets.js";

const SEED = Number(process.env.MODELGATE_FUZZ_SEED ?? 20261122);
const SCALE = Math.max(1, Number(process.env.MODELGATE_FUZZ_SCALE ?? 1));
const MUTANTS = 250 * SCALE;

describe("fuzz slice (fixed seed)", () => {
  for (const target of TARGETS.values()) {
    it(`${target.name}: seeds and ${MUTANTS} mutants end in a result or a typed error`, async () => {
      const seeds = target.seeds();
      expect(seeds.length).toBeGreaterThan(0);
      const failures: string[] = [];
      for (const seed of seeds) {
        const { failure } = await execute(target, seed);
        if (failure !== undefined) failures.push(`seed ${seed.name}: ${failure.message}`);
      }
      const fuzzer = new Fuzzer(target, SEED, seeds);
      for (let i = 0; i < MUTANTS && failures.length < 5; i++) {
        const input = fuzzer.next();
        const { failure } = await execute(target, input);
        if (failure !== undefined) {
          failures.push(`mutant ${i} (${input.name}, ${input.bytes.length} bytes): ${failure.message}`);
        }
      }
      expect(failures).toEqual([]);
    }, 120_000);
  }
});
