/**
 * Mends of the final read: a stack of millions of items handed to unmodelled code does not crash
 * the analysis (the critical call before it stays reported), and a RaiseException nested in
 * another's first argument is checked too.
 */
import { describe, expect, it } from "vitest";
import { raisesOnlyBuiltins } from "../../../src/formats/pickle/analyzer.js";
import { ruleIds, scanOne } from "../../helpers/scan.js";

const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

describe("final-read mends", () => {
  it("APPENDS of two million items after a critical call is no internal error", async () => {
    const head = latin1("\x80\x02cposix\nsystem\nX\x02\x00\x00\x00idq\x00\x85R0ccollections\ndeque\n)R(");
    const items = new Uint8Array(2_000_000 * 2);
    for (let i = 0; i < items.length; i += 2) {
      items[i] = 0x4b; // BININT1
      items[i + 1] = 1;
    }
    const bytes = new Uint8Array(head.length + items.length + 2);
    bytes.set(head);
    bytes.set(items, head.length);
    bytes.set(latin1("e."), head.length + items.length);
    const file = await scanOne(bytes, "model.pkl");
    expect(ruleIds(file)).not.toContain("scan/internal-error");
    expect(ruleIds(file)).toContain("pickle/dangerous-global");
    expect(file.verdict).toBe("malicious");
  }, 60_000);

  it("a RaiseException nested in another's first argument is judged", () => {
    expect(raisesOnlyBuiltins('ops.prim.RaiseException("x", "builtins.RuntimeError")')).toBe(true);
    expect(
      raisesOnlyBuiltins('ops.prim.RaiseException(ops.prim.RaiseException("x", "os.system"), "builtins.RuntimeError")'),
    ).toBe(false);
  });
});
