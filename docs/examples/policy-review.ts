// Review a policy's exceptions: what each suppression hides, which expired, which match nothing.
// Usage: node policy-review.ts <model-dir>
import { discoverPolicy, scan } from "modelgate";

const target = process.argv[2] ?? ".";
const policy = await discoverPolicy(); // from the working directory upward, never from the target
if (policy === undefined) {
  console.log("no .modelgate.json in", process.cwd(), "or its parents");
  process.exit(0);
}
const report = await scan(target, { policy });

console.log(`policy ${policy.source}`);
for (const file of report.files) {
  for (const finding of file.suppressed ?? []) {
    const until = finding.suppression.expires ?? "no expiry";
    console.log(`suppressed ${finding.ruleId} in ${finding.path} (${until}): ${finding.suppression.reason}`);
  }
}
const uses = report.policy?.suppressions ?? [];
const expired = uses.filter((s) => s.status === "expired");
const unused = uses.filter((s) => s.status === "active" && s.matched === 0);
for (const s of expired)
  console.log(`EXPIRED ${s.rule} ${s.path} on ${s.expires}: ${s.matched} finding(s) count again`);
for (const s of unused) console.log(`unused ${s.rule} ${s.path}: matches nothing, consider removing it`);
process.exitCode = expired.length > 0 ? 1 : 0;
