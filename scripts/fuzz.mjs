#!/usr/bin/env node
// `npm run fuzz`: compiles the library and the fuzz harness (scripts/fuzz-build.mjs), then runs every target (or those named) for a fixed time, a
// few at a time, each under its own supervisor process. Options (or environment variables):
//   --time=SECONDS     per target (MODELGATE_FUZZ_TIME, default 600)
//   --targets=a,b      subset (default: all)
//   --jobs=N           targets at once (MODELGATE_FUZZ_JOBS, default 2)
//   --seed=N           PRNG seed (MODELGATE_FUZZ_SEED, default: time-based, printed)
//   --hang-ms=N        an input making no progress this long is a hang (default 30000)
//   --list             print the targets and exit
// MODELGATE_FUZZ_REGRESSIONS=dir saves failures elsewhere than test/fuzz/regressions.
// Summaries go to reports/fuzz/<target>/summary.json and reports/fuzz/summary.json; confirmed
// failures become regression samples in test/fuzz/regressions/<target>/ (replayed by npm test).
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, freemem, totalmem } from "node:os";
import { join } from "node:path";
import { buildHarness, ROOT as root } from "./fuzz-build.mjs";

const arg = (name, fallback) => {
  const hit = process.argv.find((a) => a.startsWith(`--${name}=`));
  return hit === undefined ? fallback : hit.slice(name.length + 3);
};

const out = buildHarness(`run-${Date.now()}`, { force: true });
const { TARGETS } = await import(join(out, "test", "fuzz", "targets.js"));
if (process.argv.includes("--list")) {
  for (const t of TARGETS.values()) process.stdout.write(`${t.name.padEnd(12)} ${t.description}\n`);
  process.exit(0);
}
const names = (arg("targets", "") || [...TARGETS.keys()].join(",")).split(",").filter(Boolean);
for (const n of names) if (!TARGETS.has(n)) throw new Error(`unknown target ${n} (try --list)`);
const seconds = Number(arg("time", process.env.MODELGATE_FUZZ_TIME ?? 600));
const jobs = Math.max(1, Number(arg("jobs", process.env.MODELGATE_FUZZ_JOBS ?? 2)));
const seed = Number(arg("seed", process.env.MODELGATE_FUZZ_SEED ?? Date.now() % 1_000_000_007));
const hangMs = Number(arg("hang-ms", 30_000));
const reports = join(root, "reports", "fuzz");
mkdirSync(reports, { recursive: true });
const machine = {
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? "",
  memoryGiB: Math.round(totalmem() / 1024 ** 3),
  freeGiB: Math.round(freemem() / 1024 ** 3),
  node: process.version,
  platform: `${process.platform}-${process.arch}`,
};
process.stderr.write(
  `fuzz: ${names.length} target(s) × ${seconds} s, ${jobs} at a time, seed ${seed}; ${machine.cpus} cpus, ${machine.memoryGiB} GiB, Node ${machine.node}\n`,
);

function runTarget(name, index) {
  const config = {
    target: name,
    seed: seed + index * 1_000_003,
    seconds,
    hangMs,
    memoryLimit: 256 * 1024 * 1024,
    heapMb: 1024,
    workDir: join(reports, name),
    regressionsDir: join(process.env.MODELGATE_FUZZ_REGRESSIONS ?? join(root, "test", "fuzz", "regressions"), name),
  };
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--enable-source-maps", join(out, "test", "fuzz", "supervisor.js")], {
      env: { ...process.env, MODELGATE_FUZZ_SUPERVISOR: JSON.stringify(config) },
      stdio: ["ignore", "pipe", "inherit"],
    });
    children.add(child);
    let text = "";
    child.stdout.on("data", (d) => {
      text += d;
    });
    child.on("exit", (code) => {
      children.delete(child);
      const line = text.trim().split("\n").pop() ?? "";
      const summary = line.startsWith("{") ? JSON.parse(line) : { target: name, error: `supervisor exited ${code}` };
      process.stderr.write(
        `fuzz: ${name}: ${summary.error ?? `${summary.execs} execs in ${summary.seconds} s, corpus ${summary.corpus}, ${summary.features} features, ${summary.saved.length} new failure(s), ${summary.duplicates} duplicate(s), ${summary.flaky.length} flaky, slowest ${summary.slowestMs} ms`}\n`,
      );
      resolve(summary);
    });
  });
}

const children = new Set();
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    for (const c of children) c.kill("SIGTERM");
    process.exit(130);
  });
}
const started = new Date().toISOString();
const queue = names.map((n, i) => [n, i]);
const results = [];
await Promise.all(
  Array.from({ length: Math.min(jobs, queue.length) }, async () => {
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) results.push(await runTarget(...next));
  }),
);
const failed = results.filter((r) => r.error !== undefined || r.saved.length > 0);
const summary = { started, finished: new Date().toISOString(), seed, seconds, jobs, machine, targets: results };
writeFileSync(join(reports, "summary.json"), `${JSON.stringify(summary, null, 2)}\n`);
process.stdout.write(
  `${"target".padEnd(12)} ${"seconds".padStart(7)} ${"execs".padStart(9)} ${"corpus".padStart(6)} ${"features".padStart(8)}  result\n`,
);
for (const r of results) {
  const result = r.error ?? (r.saved.length > 0 ? `${r.saved.length} new failure(s)` : "no failure");
  process.stdout.write(
    `${r.target.padEnd(12)} ${String(r.seconds ?? "").padStart(7)} ${String(r.execs ?? "").padStart(9)} ${String(r.corpus ?? "").padStart(6)} ${String(r.features ?? "").padStart(8)}  ${result}\n`,
  );
}
process.exitCode = failed.length === 0 ? 0 : 1;
