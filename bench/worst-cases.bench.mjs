#!/usr/bin/env node
// Worst cases per format (issue 8, "Budgets and worst cases"): for each budget, the largest valid
// structure at the library's real budget and the same structure one step past it, scanned with
// the default limits (except those a case sets). Prints build size, scan time, the time ratio
// against SHA-256 of the same bytes (a baseline measured in this run), the verdict and peak RSS.
// Fails when the largest is `invalid`/crashes or one step past is not a typed invalid verdict.
// The builders are test/fuzz/worst-cases.ts (compiled by scripts/fuzz-build.mjs); the scanner is
// the built library in dist/. `node bench/worst-cases.bench.mjs gguf zip` runs matching cases.
import { createHash } from "node:crypto";
import { join } from "node:path";
import { buildHarness } from "../scripts/fuzz-build.mjs";

const dir = buildHarness("bench");
const { WORST_CASES } = await import(join(dir, "test", "fuzz", "worst-cases.js"));
const { scan } = await import("../dist/index.js");

const only = process.argv.slice(2);
const mib = (n) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
const rssPeak = () => process.resourceUsage().maxRSS * 1024;

async function timed(input, limits) {
  const t0 = performance.now();
  const report = await scan({ bytes: input.bytes, name: input.name }, { hash: false, limits });
  const ms = performance.now() - t0;
  const file = report.files[0];
  return { ms, verdict: file.verdict, rules: [...new Set(file.findings.map((f) => f.ruleId))] };
}
function sha256Ms(bytes) {
  const t0 = performance.now();
  createHash("sha256").update(bytes).digest();
  return Math.max(0.01, performance.now() - t0);
}

let failed = 0;
const row = (...cells) => process.stdout.write(`${cells.join("  ")}\n`);
row(
  "case".padEnd(20),
  "units".padStart(11),
  "size".padStart(10),
  "scan ms".padStart(9),
  "×sha256".padStart(8),
  "verdict".padEnd(10),
  "rules",
);
for (const c of WORST_CASES) {
  if (only.length > 0 && !only.some((o) => c.id.includes(o))) continue;
  const limits = c.limits(c.limit);
  globalThis.gc?.();
  const largest = c.build(c.limit);
  const ok = await timed(largest, limits);
  const base = sha256Ms(largest.bytes);
  const okBad =
    ok.verdict === "invalid" || ok.rules.some((r) => c.pastRules.includes(r) || r === "scan/internal-error");
  row(
    `${c.id}`.padEnd(20),
    String(c.limit).padStart(11),
    mib(largest.bytes.length).padStart(10),
    ok.ms.toFixed(0).padStart(9),
    (ok.ms / base).toFixed(1).padStart(8),
    ok.verdict.padEnd(10),
    `${ok.rules.join(",") || "-"}${okBad ? "   !!! largest valid hit the budget or failed" : ""}`,
  );
  if (okBad) failed++;
  largest.bytes = undefined;
  globalThis.gc?.();
  const past = c.declaredPast?.(c.limit) ?? c.build(c.limit + 1);
  const p = await timed(past, limits);
  const pastOk = ["invalid", "malicious"].includes(p.verdict) && p.rules.some((r) => c.pastRules.includes(r));
  row(
    `  one past`.padEnd(20),
    `${c.limit + 1}${c.declaredPast ? "*" : ""}`.padStart(11),
    mib(past.bytes.length).padStart(10),
    p.ms.toFixed(0).padStart(9),
    "".padStart(8),
    p.verdict.padEnd(10),
    `${p.rules.join(",")}${pastOk ? "" : "   !!! not a typed invalid verdict"}`,
  );
  if (!pastOk) failed++;
}
row(`\npeak RSS ${mib(rssPeak())}; * = declared count, not materialised (the reader refuses on the count)`);
if (failed > 0) {
  process.stdout.write(`${failed} worst case(s) failed\n`);
  process.exitCode = 1;
}
