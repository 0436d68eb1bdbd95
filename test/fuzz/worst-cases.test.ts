/**
 * Budgets and worst cases (fast part): for every budget, the largest valid structure (at a small
 * configured budget, or a smaller one when the budget is a fixed constant) is analysed without
 * hitting it, and one step past it is a typed `invalid` verdict carrying the budget's rule, never a
 * crash and never `clean`. `npm run bench` (bench/worst-cases.bench.mjs) times the real sizes.
 */
import { describe, expect, it } from "vitest";
import { scanOne } from "../helpers/scan.js";
import { WORST_CASES } from "./worst-cases.js";

/** Rule ids of a file's findings (members' findings are listed with the file, under their path). */
const rulesOf = (file: Awaited<ReturnType<typeof scanOne>>) => file.findings.map((f) => f.ruleId);

describe("worst cases", () => {
  for (const c of WORST_CASES) {
    const limit = c.testLimit ?? c.limit;
    const largest = c.testLimit !== undefined ? limit : Math.min(limit, c.testLargest ?? limit);
    const past = c.pastInBenchOnly === true ? "(one past: bench only)" : `one past ${limit} is invalid`;
    it(`${c.id}: ${largest} is analysed, ${past} (${c.budget})`, async () => {
      const options = { hash: false, limits: { ...c.limits(limit), fileTimeoutMs: 60_000 } };
      const ok = c.build(largest);
      const okFile = await scanOne(ok.bytes, ok.name, options);
      const okRules = rulesOf(okFile);
      expect(okRules.filter((r) => c.pastRules.includes(r) || r.startsWith("scan/"))).toEqual([]);
      expect(okFile.verdict).not.toBe("invalid");

      if (c.pastInBenchOnly === true) return;
      const past = c.declaredPast?.(limit) ?? c.build(limit + 1);
      const pastFile = await scanOne(past.bytes, past.name, options);
      const pastRules = rulesOf(pastFile);
      expect(pastRules).not.toContain("scan/internal-error");
      expect(
        pastRules.some((r) => c.pastRules.includes(r)),
        pastRules.join(", "),
      ).toBe(true);
      // invalid, or malicious where the budget's rule is also a threat (a decompression bomb)
      expect(["invalid", "malicious"]).toContain(pastFile.verdict);
    }, 60_000);
  }
});
