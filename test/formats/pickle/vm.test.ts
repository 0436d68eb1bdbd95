/** Stack discipline of the VM where it must match CPython's unpickler. */
import { describe, expect, it } from "vitest";
import { analyze, bytes } from "./helpers.js";

describe("vm", () => {
  it("TUPLE1/2/3 do not take items from below the topmost MARK (CPython: unexpected MARK found)", async () => {
    for (const stream of ["K\x01(K\x02\x86.", "K\x01(\x85.", "K\x01K\x02(K\x03\x87."]) {
      const a = await analyze(bytes([0x80, 0x02], stream));
      expect(a.invalid, JSON.stringify(stream)).toBe(true);
      expect(a.runs[0]?.error?.message).toBe("unexpected MARK found");
    }
    const ok = await analyze(bytes([0x80, 0x02], "(K\x01K\x02\x86t."));
    expect(ok.invalid).toBe(false);
  });
});
