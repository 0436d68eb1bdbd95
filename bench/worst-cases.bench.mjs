#!/usr/bin/env node
// Worst cases per format (issue 8, "Budgets and worst cases"): for each budget, the largest valid
// structure at the library's real budget and the same structure one step past it, scanned from a
// file with the default limits (except those a case sets). Each scan runs in its own process, so
// the peak RSS printed is the scan's own (the input is read from disk, not built in that process).
// Printed per case: input size, scan time, the time ratio against SHA-256 of the same file (a
// baseline measured in this run, for inputs of 1 MiB and more), verdict, rules and peak RSS.
// Fails when the largest is `invalid` or crashes, or when one step past is not a typed invalid
// verdict. Builders: test/fuzz/worst-cases.ts (compiled by scripts/fuzz-build.mjs); scanner: dist/.
// `node bench/worst-cases.bench.mjs gguf zip` runs the matching cases only.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildHarness } from "../scripts/fuzz-build.mjs";

const self = fileURLToPath(import.meta.url);

/**
 * This process's peak resident memory. On Linux, getrusage's maxRSS survives exec and so starts at
 * the parent's (the bench holds the inputs it builds); VmHWM belongs to the new address space.
 */
function peakRss() {
  try {
    const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
    if (kb !== undefined) return Number(kb) * 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024;
}

if (process.argv[2] === "--scan-one") {
  // child: scan one file, print one JSON line
  const [file, limits] = [process.argv[3], JSON.parse(process.argv[4] ?? "{}")];
  const { scan } = await import("../dist/index.js");
  const t0 = performance.now();
  const report = await scan(file, { hash: false, limits, signature: false });
  const ms = performance.now() - t0;
  const f = report.files[0];
  process.stdout.write(
    `${JSON.stringify({ ms, verdict: f.verdict, rules: [...new Set(f.findings.map((x) => x.ruleId))], peak: peakRss() })}\n`,
  );
  process.exit(0);
}

const dir = buildHarness("bench");
const { LARGE_VALID, WORST_CASES } = await import(join(dir, "test", "fuzz", "worst-cases.js"));
const only = process.argv.slice(2);
const mib = (n) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
const work = mkdtempSync(join(tmpdir(), "modelgate-worst-"));

/** Writes the input to a file named like it and scans it in a fresh process. */
function scanned(input, limits) {
  const file = join(work, input.name);
  writeFileSync(file, input.bytes);
  const out = execFileSync(process.execPath, [self, "--scan-one", file, JSON.stringify(limits)], {
    maxBuffer: 1 << 24,
  });
  const t0 = performance.now();
  createHash("sha256").update(readFileSync(file)).digest();
  const sha = Math.max(0.01, performance.now() - t0);
  rmSync(file);
  return { ...JSON.parse(out.toString().trim().split("\n").pop()), sha, size: input.bytes.length };
}

let failed = 0;
const row = (...cells) => process.stdout.write(`${cells.join("  ")}\n`);
const ratio = (r) => (r.size >= 1024 * 1024 ? (r.ms / r.sha).toFixed(1) : "-").padStart(8);
row(
  "case".padEnd(20),
  "units".padStart(11),
  "size".padStart(10),
  "scan ms".padStart(9),
  "×sha256".padStart(8),
  "peak RSS".padStart(10),
  "verdict".padEnd(10),
  "rules",
);
try {
  for (const c of WORST_CASES) {
    if (only.length > 0 && !only.some((o) => c.id.includes(o))) continue;
    const limits = c.limits(c.limit);
    const ok = scanned(c.build(c.limit), limits);
    const okBad =
      ok.verdict === "invalid" || ok.rules.some((r) => c.pastRules.includes(r) || r === "scan/internal-error");
    row(
      c.id.padEnd(20),
      String(c.limit).padStart(11),
      mib(ok.size).padStart(10),
      ok.ms.toFixed(0).padStart(9),
      ratio(ok),
      mib(ok.peak).padStart(10),
      ok.verdict.padEnd(10),
      `${ok.rules.join(",") || "-"}${okBad ? "   !!! largest valid hit the budget or failed" : ""}`,
    );
    if (okBad) failed++;
    const p = scanned(c.declaredPast?.(c.limit) ?? c.build(c.limit + 1), limits);
    const pastOk = ["invalid", "malicious"].includes(p.verdict) && p.rules.some((r) => c.pastRules.includes(r));
    row(
      "  one past".padEnd(20),
      `${c.limit + 1}${c.declaredPast ? "*" : ""}`.padStart(11),
      mib(p.size).padStart(10),
      p.ms.toFixed(0).padStart(9),
      "".padStart(8),
      mib(p.peak).padStart(10),
      p.verdict.padEnd(10),
      `${p.rules.join(",")}${pastOk ? "" : "   !!! not a typed invalid verdict"}`,
    );
    if (!pastOk) failed++;
  }
  for (const v of LARGE_VALID) {
    if (only.length > 0 && !only.some((o) => v.id.includes(o))) continue;
    const r = scanned(v.build(), {});
    const bad = r.verdict === "invalid" || r.rules.includes("scan/internal-error");
    row(
      v.id.padEnd(32),
      mib(r.size).padStart(10),
      r.ms.toFixed(0).padStart(9),
      ratio(r),
      mib(r.peak).padStart(10),
      r.verdict.padEnd(10),
      `${r.rules.join(",") || "-"}${bad ? "   !!! not analysed" : ""}`,
    );
    if (bad) failed++;
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
row("\n* = declared count, not materialised (the reader refuses on the count)");
if (failed > 0) {
  process.stdout.write(`${failed} worst case(s) failed\n`);
  process.exitCode = 1;
}
