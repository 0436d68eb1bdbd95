/**
 * Tar archives that Python's tarfile reads differently from a lenient reader (the attack
 * reviewer's PoCs of session 29, rebuilt by samples/generate/tar_differentials.py and checked
 * there with the real loaders): every one must be caught (malicious or invalid), never clean.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ruleIds, SAMPLES, scanOne } from "../helpers/scan.js";

const DIR = join(SAMPLES, "tar-differentials");
const expected = JSON.parse(readFileSync(join(DIR, "expected.json"), "utf8")) as Record<
  string,
  { verdict: string; rules?: string[] }
>;

describe("tar differentials: what tarfile extracts is analysed", () => {
  for (const file of readdirSync(DIR)
    .filter((f) => f !== "expected.json")
    .sort()) {
    it(`${file}: the verdict of expected.json`, async () => {
      const report = await scanOne(readFileSync(join(DIR, file)), file);
      const want = expected[`tar-differentials/${file}`];
      if (want?.verdict === "malicious") expect(report.verdict, ruleIds(report).join(",")).not.toBe("clean");
      expect(report.verdict).toBe(expected[`tar-differentials/${file}`]?.verdict);
      for (const rule of expected[`tar-differentials/${file}`]?.rules ?? []) expect(ruleIds(report)).toContain(rule);
    });
  }
});
