// Consume `modelgate scan --format jsonl` as it streams: one ScanReport per line, per finished target.
// Usage: modelgate scan --targets-file FILE --format jsonl | node triage-jsonl.ts
import { createInterface } from "node:readline";
import { ScanReportSchema } from "modelgate/report";
import { decide } from "./mirror-decide.ts";

let held = 0;
for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() === "") continue;
  // Validate each line: a truncated or foreign line fails loudly instead of passing as clean.
  const report = ScanReportSchema.parse(JSON.parse(line));
  const decision = decide(report);
  if (decision.action !== "publish") held++;
  console.log(`${decision.action.padEnd(10)} ${decision.subject}: ${decision.reason}`);
}
process.exitCode = held > 0 ? 1 : 0;
