/**
 * `itertools.count` is an exact allow of the builtins profile (matplotlib figures pickle their
 * artists' counters as `count(n)`): it never calls an argument. The rest of itertools, which calls
 * callables it is given, stays denied.
 */
import { describe, expect, it } from "vitest";

import { picklePolicy } from "../../../src/formats/pickle/policy/index.js";
import { analyze, bytes, op, rules } from "./helpers.js";

/** `itertools.<name>(*args)` as a protocol-2 pickle. */
const callOf = (name: string, ...args: (Uint8Array | number[])[]) =>
  bytes(op.proto(2), op.global("itertools", name), [0x28], ...args, [0x74, 0x52], op.stop);

describe("itertools.count", () => {
  it("is allowed to be called", async () => {
    expect(picklePolicy("pickle").classify("itertools.count")).toMatchObject({
      status: "allowed",
      allowedUse: "call",
      profile: "builtins",
    });
    expect(rules(await analyze(callOf("count", [0x4b, 5])))).toEqual([]);
  });

  it("leaves the rest of itertools denied", async () => {
    for (const name of ["starmap", "chain", "accumulate", "groupby", "filterfalse", "takewhile", "tee", "cycle"]) {
      const c = picklePolicy("pickle").classify(`itertools.${name}`);
      expect(c.status, name).toBe("denied");
      const a = await analyze(callOf(name, op.global("os", "system")));
      expect(rules(a), name).toContain("pickle/dangerous-global");
    }
    // a name reached through count is not count
    expect(picklePolicy("pickle").classify("itertools.count.__reduce__").status).not.toBe("allowed");
  });
});
