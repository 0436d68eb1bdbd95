/**
 * A joblib NumpyArrayWrapper whose BUILD state sets anything but the wrapper's own attributes
 * (`read_array`, `read` on the instance) changes what joblib's load_build runs and how much inline
 * data it reads: its layout is not certain, so the reading stops (joblib/array-layout) instead of
 * skipping bytes joblib runs as opcodes.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ruleIds, SAMPLES, scanOne } from "../../helpers/scan.js";

const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const WRAPPER = "ccopyreg\n__newobj__\ncjoblib.numpy_pickle\nNumpyArrayWrapper\n\x85R";
const SYSTEM = "cposix\nsystem\n(S'echo x'\ntR";

/** A wrapper of `n` u1 items with `extra` pickled into its state, then `tail`. */
function wrapper(n: number, extra: string, tail: string): Uint8Array {
  const state =
    "(X\x08\x00\x00\x00subclasscnumpy\nndarray\n" +
    `X\x05\x00\x00\x00shapeK${String.fromCharCode(n)}\x85` +
    "X\x05\x00\x00\x00orderX\x01\x00\x00\x00C" +
    "X\x05\x00\x00\x00dtypecnumpy\ndtype\nX\x02\x00\x00\x00u1\x89\x88\x87R" +
    "X\x0a\x00\x00\x00allow_mmap\x89" +
    extra +
    "db";
  return latin1(`\x80\x02${WRAPPER}${state}${tail}`);
}

describe("joblib wrapper state", () => {
  it.each([
    ["read_array", "X\x0a\x00\x00\x00read_arraycbuiltins\nslice\n"],
    ["read", "X\x04\x00\x00\x00readcbuiltins\nslice\n"],
    ["an unknown attribute", "X\x05\x00\x00\x00extraK\x01"],
  ])("with %s set on the instance is not skipped as array data", async (_label, extra) => {
    const file = await scanOne(wrapper(SYSTEM.length, extra, `${SYSTEM}0N.`), "model.joblib");
    expect(file.verdict).not.toBe("clean");
    expect(ruleIds(file)).toContain("joblib/array-layout");
  });

  it("a wrapper with only its own attributes still has its data skipped", async () => {
    const file = await scanOne(wrapper(5, "", "abcde0N."), "model.joblib");
    expect(file.verdict).toBe("clean");
  });

  it("the sample made for joblib.load runs its payload and is not clean", async () => {
    const bytes = new Uint8Array(readFileSync(join(SAMPLES, "pickle-differentials/joblib_read_array.joblib")));
    const file = await scanOne(bytes, "joblib_read_array.joblib");
    expect(file.verdict).not.toBe("clean");
  });
});
