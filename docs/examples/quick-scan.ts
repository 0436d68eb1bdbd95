// The shortest useful scan from Node: show what is not clean, fail unless everything is.
// Usage: node docs/examples/quick-scan.ts <file-or-directory>
import { scan } from "modelgate";

const report = await scan(process.argv[2] ?? ".", { limits: { fileTimeoutMs: 60_000 } });
for (const file of report.files) {
  if (file.verdict !== "clean") console.log(file.path, file.verdict, file.findings.map((f) => f.ruleId).join(", "));
}
process.exitCode = report.complete && report.verdict === "clean" ? 0 : 1;
