/**
 * The per-file finding cap: occurrences past it are counted, never allowed to push a more severe
 * finding of the same rule out of the report (which the exit code and SARIF read).
 */
import { describe, expect, it } from "vitest";
import { exitCodeFor } from "../../src/cli/commands/scan.js";
import { resolvePolicy } from "../../src/policy/policy.js";
import type { ScanReport } from "../../src/report/schema.js";
import { FileRecorder, MAX_FINDINGS_PER_RULE } from "../../src/scan/file-recorder.js";

function recorded(lows: number, highs: number) {
  const recorder = new FileRecorder("bundle.zip", 10, resolvePolicy());
  for (let i = 0; i < lows; i++) {
    recorder.add(recorder.root, { ruleId: "keras/tfoplambda", severity: "low", message: `layer ${i}` });
  }
  for (let i = 0; i < highs; i++) {
    recorder.add(recorder.root, { ruleId: "keras/tfoplambda", severity: "high", message: `write ${i}` });
  }
  return recorder.toReport();
}

describe("FileRecorder finding cap", () => {
  it("keeps a high finding that comes after the cap's worth of low ones of the same rule", () => {
    const report = recorded(MAX_FINDINGS_PER_RULE + 100, 1);
    expect(report.verdict).toBe("malicious");
    const high = report.findings.filter((f) => f.severity === "high");
    expect(high).toHaveLength(1);
    expect(high[0]?.message).toBe("write 0");
    const omitted = report.findings.filter((f) => f.evidence?.omitted !== undefined);
    expect(omitted).toEqual([expect.objectContaining({ severity: "low", evidence: { omitted: 100 } })]);
  });

  it("summarises each severity's overflow with that severity", () => {
    const report = recorded(MAX_FINDINGS_PER_RULE + 1, MAX_FINDINGS_PER_RULE + 2);
    const omitted = report.findings.filter((f) => f.evidence?.omitted !== undefined);
    expect(omitted.map((f) => [f.severity, f.evidence?.omitted]).sort()).toEqual([
      ["high", 2],
      ["low", 1],
    ]);
  });

  it("a malicious file fails --fail-on medium and high", () => {
    const file = recorded(MAX_FINDINGS_PER_RULE + 1, 1);
    const report = {
      complete: true,
      errors: [],
      summary: { byVerdict: { invalid: 0 } },
      files: [{ ...file, findings: file.findings.filter((f) => f.severity === "low") }],
    } as unknown as ScanReport;
    expect(exitCodeFor([report], "medium")).toBe(1);
    expect(exitCodeFor([report], "high")).toBe(1);
    expect(exitCodeFor([report], "critical")).toBe(0);
  });
});
