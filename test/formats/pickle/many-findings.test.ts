/**
 * A pickle naming tens of thousands of distinct unknown globals: the findings are capped per rule
 * and severity (the rest counted in one summary finding) and the verdict is unchanged. Found by the
 * `pickle.refs` worst case in `npm run bench`: at a million globals the analysis overflowed the call
 * stack spreading the findings into an array (the budget is now 100,000 distinct globals).
 */
import { describe, expect, it } from "vitest";
import { scanOne } from "../../helpers/scan.js";

function manyGlobals(n: number, dangerous: boolean): Uint8Array {
  const parts: Buffer[] = [Buffer.from([0x80, 0x04])];
  const module = Buffer.from([0x8c, 11, ...Buffer.from("collections")]);
  for (let i = 0; i < n; i++) {
    const name = Buffer.from(`OrderedDict.a${i}`);
    parts.push(module, Buffer.from([0x8c, name.length]), name, Buffer.from([0x93, 0x30]));
  }
  // one dangerous import after them all must still be listed
  if (dangerous) parts.push(Buffer.from("cos\nsystem\n0", "latin1"));
  parts.push(Buffer.from([0x4e, 0x2e]));
  return new Uint8Array(Buffer.concat(parts));
}

describe("many findings", () => {
  it("caps findings per rule, keeps the count, and keeps every rule", async () => {
    const file = await scanOne(manyGlobals(99_000, true), "many.pkl", { hash: false });
    const unknown = file.findings.filter((f) => f.ruleId === "pickle/unknown-global");
    expect(unknown.length).toBeLessThanOrEqual(101);
    const summary = unknown.find((f) => f.evidence?.occurrences !== undefined);
    expect(summary?.evidence?.occurrences).toBe(99_000);
    expect(file.findings.some((f) => f.ruleId === "pickle/dangerous-global")).toBe(true);
    expect(file.findings.some((f) => f.ruleId === "scan/internal-error")).toBe(false);
    expect(file.verdict).toBe("malicious");
  }, 60_000);

  it("a capped rule keeps its verdict", async () => {
    const file = await scanOne(manyGlobals(500, false), "many.pkl", { hash: false });
    expect(file.findings.filter((f) => f.ruleId === "pickle/unknown-global")).toHaveLength(101);
    expect(file.verdict).toBe("suspicious");
  });
});
