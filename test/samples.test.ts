/**
 * Every sample listed in samples/<area>/expected.json is scanned and checked: exact verdict, the
 * rules that must (and must not) appear, and optional evidence such as a pickle's resolved callee.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { ScanReport, Verdict } from "../src/report/schema.js";
import { scan } from "../src/scan/engine.js";
import { SAMPLES } from "./helpers/scan.js";

interface Expectation {
  verdict: Verdict;
  rules?: string[];
  absentRules?: string[];
  /** A finding must carry this resolved callee (pickle). */
  callee?: string;
  /** A finding must carry these evidence entries. */
  evidence?: Record<string, string | number | boolean | null>;
}

const areas = existsSync(SAMPLES)
  ? readdirSync(SAMPLES).filter((d) => existsSync(join(SAMPLES, d, "expected.json")))
  : [];

const cache = new Map<string, Promise<ScanReport>>();
const scanCached = (path: string) => {
  let p = cache.get(path);
  if (p === undefined) {
    p = scan(join(SAMPLES, path));
    cache.set(path, p);
  }
  return p;
};

describe.each(areas)("samples/%s", (area) => {
  const expected = JSON.parse(readFileSync(join(SAMPLES, area, "expected.json"), "utf8")) as Record<
    string,
    Expectation
  >;
  it("lists only files that exist", () => {
    for (const path of Object.keys(expected)) expect(existsSync(join(SAMPLES, path)), path).toBe(true);
  });
  it.each(Object.entries(expected))("%s", async (path, want) => {
    const report = await scanCached(path);
    const isDir = statSync(join(SAMPLES, path)).isDirectory();
    const findings = report.files.flatMap((f) => f.findings);
    const ruleIds = new Set<string>(findings.map((f) => f.ruleId));
    const verdict = isDir ? report.verdict : report.files[0]!.verdict;
    const context = `${path}: ${JSON.stringify(
      findings.map((f) => `${f.severity} ${f.ruleId} ${f.message}`),
      null,
      1,
    )}`;
    expect(verdict, context).toBe(want.verdict);
    for (const rule of want.rules ?? []) expect(ruleIds.has(rule), `${rule} missing in ${context}`).toBe(true);
    for (const rule of want.absentRules ?? []) expect(ruleIds.has(rule), `${rule} present in ${context}`).toBe(false);
    if (want.callee !== undefined) {
      expect(
        findings.some((f) => f.evidence?.callee === want.callee),
        `callee ${want.callee} not in ${JSON.stringify(findings.map((f) => f.evidence?.callee))}`,
      ).toBe(true);
    }
    if (want.evidence !== undefined) {
      const match = findings.some((f) => Object.entries(want.evidence ?? {}).every(([k, v]) => f.evidence?.[k] === v));
      expect(match, `evidence ${JSON.stringify(want.evidence)} not found in ${context}`).toBe(true);
    }
    if (want.verdict === "clean") {
      expect(
        findings.filter((f) => f.severity !== "info"),
        context,
      ).toEqual([]);
    }
  });
});

it("every sample area has expectations", () => {
  // An empty samples/ would make the suite above vacuous once areas exist.
  if (areas.length === 0) expect(readdirSync(SAMPLES).filter((d) => d !== "generate")).toEqual([]);
});
