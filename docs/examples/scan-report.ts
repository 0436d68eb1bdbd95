// Scan a model directory from Node and act on the typed report.
// Usage: node scan-report.ts <model-dir>
import { type FileReport, isModelgateError, type ScanReport, scan, severityRank, type Verdict } from "modelgate";

const target = process.argv[2] ?? ".";

/** What a verdict means for whoever wants to load the model. */
function advice(verdict: Verdict): string {
  switch (verdict) {
    case "clean":
      return "safe to load";
    case "suspicious":
      return "review the findings before loading";
    case "invalid":
      return "could not be fully analysed: do not load";
    case "malicious":
      return "do not load";
    default: {
      const unreachable: never = verdict; // a new verdict would fail to compile here
      return unreachable;
    }
  }
}

/** Findings worth showing: medium and above. */
function important(file: FileReport) {
  return file.findings.filter((f) => severityRank(f.severity) >= severityRank("medium"));
}

let report: ScanReport;
try {
  report = await scan(target, { signal: AbortSignal.timeout(5 * 60_000) });
} catch (error) {
  // Bad targets and bad options reject; problems inside files never do (they are findings).
  if (isModelgateError(error)) {
    console.error(`cannot scan ${target}: ${error.code}: ${error.message}`);
    process.exit(2);
  }
  throw error;
}

for (const file of report.files) {
  console.log(`${file.verdict.padEnd(10)} ${file.path} (${file.format}, sha256 ${file.sha256?.slice(0, 12)})`);
  for (const finding of important(file)) {
    console.log(`  ${finding.severity} ${finding.ruleId}: ${finding.message}`);
  }
}
if (!report.complete) console.log(`incomplete scan: ${report.errors.map((e) => e.message).join("; ")}`);
console.log(`${report.verdict}: ${advice(report.verdict)}`);
process.exitCode = report.verdict === "clean" ? 0 : 1;
