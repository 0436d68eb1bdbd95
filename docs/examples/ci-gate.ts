// A CI gate written against the library: scan under the repository's policy, write SARIF for
// GitHub code scanning and a CycloneDX ML-BOM for the inventory, fail on high findings.
// Usage: node ci-gate.ts <models-dir> <out-dir>
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { loadPolicyFile, scan, severityRank } from "modelgate";
import { renderCycloneDx, renderSarif } from "modelgate/report";

const [target = "models", outDir = "reports"] = process.argv.slice(2);

const policy = await loadPolicyFile(".modelgate.json"); // the repository's policy, named as the CLI's --policy
const report = await scan(target, { policy });

await mkdir(outDir, { recursive: true });
await writeFile(join(outDir, "modelgate.sarif"), JSON.stringify(renderSarif(report, { uriPrefix: target })));
await writeFile(join(outDir, "modelgate.cdx.json"), JSON.stringify(renderCycloneDx(report), null, 2));

const failing = report.files.flatMap((file) =>
  file.findings.filter((f) => severityRank(f.severity) >= severityRank("high")).map((f) => `${f.path}: ${f.ruleId}`),
);
console.log(`policy ${report.policy?.source ?? "(none)"} sha256 ${report.policy?.hash.slice(0, 12)}`);
console.log(`${report.summary.files} files, ${report.summary.findings} findings, ${failing.length} at high or above`);
for (const line of failing) console.log(`  ${line}`);

// Same rule as the CLI: a scan that could not finish, or a file that could not be analysed, fails.
if (!report.complete || report.summary.byVerdict.invalid > 0) process.exitCode = 2;
else process.exitCode = failing.length > 0 ? 1 : 0;
