#!/usr/bin/env node
// Start-up cost of the built package (dist/): tools call modelgate once per file, so what a fresh
// process pays before any work matters. Each command runs in fresh processes, interleaved with a
// bare `node -e 0` in the same rounds (the machine is shared: interleaving spreads load spikes
// over all of them); a figure is the command's median wall time minus the median of `node -e 0`.
//
//   version  modelgate --version
//   scan     modelgate scan small.pkl --format json      (a 78-byte benign pickle)
//   import   import("modelgate")                          (the package's main entry, self-reference)
//
// The CLI runs with a warm compile cache (a temp folder, filled by warm-up runs): that is what a
// user's second and later calls see. `import` runs without one (a library does not turn it on).
//
// Fails (exit 1, a "REGRESSION" line) when a figure exceeds its committed baseline
// (bench/startup-baseline.json) by more than 20 % and by more than NOISE_MS. Targets are printed,
// not enforced. Flags: --update-baseline rewrites the baseline from this run; --runs=N (default 21).
// Run it alone: `npm run bench -- startup` (add `-- --update-baseline` after a deliberate change).
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const baselinePath = join(root, "bench", "startup-baseline.json");
const args = process.argv.slice(2);
const update = args.includes("--update-baseline");
const runs = Number(args.find((a) => a.startsWith("--runs="))?.slice("--runs=".length) ?? 21);
/** Allowed growth over the baseline before the run fails. */
const TOLERANCE = 0.2;
/** Below this many milliseconds a difference is timer and scheduler noise, not a regression. */
const NOISE_MS = 5;
/** Issue 18's targets, in milliseconds over `node -e 0`. */
const TARGETS = { version: 60, scan: 150, import: 80 };

const cli = join(root, "dist", "cli", "main.js");
if (!existsSync(cli)) {
  process.stderr.write("startup bench: dist/ is missing; run `npm run build` first\n");
  process.exit(2);
}
const dir = mkdtempSync(join(tmpdir(), "mg-startup-bench-"));
const pkl = join(dir, "small.pkl");
// pickle.dumps({"weights": [1.0, 2.5], "name": "small", "layers": (3, 4)}, protocol=4)
writeFileSync(
  pkl,
  Buffer.from(
    "80049543000000000000007d94288c0777656967687473945d9428473ff0000000000000474004000000000000658c046e616d65948c05736d616c6c948c066c6179657273944b034b048694752e",
    "hex",
  ),
);
const cache = join(dir, "compile-cache");
const env = { ...process.env, NODE_COMPILE_CACHE: cache, NO_COLOR: "1" };
delete env.NODE_DISABLE_COMPILE_CACHE;
delete env.NODE_OPTIONS;

const COMMANDS = {
  node: { argv: ["-e", "0"] },
  version: { argv: [cli, "--version"], expect: (r) => r.status === 0 && r.stdout.trim().length > 0 },
  scan: {
    argv: [cli, "scan", pkl, "--format", "json"],
    expect: (r) => r.status === 0 && JSON.parse(r.stdout).verdict === "clean",
  },
  import: {
    argv: [
      "--input-type=module",
      "-e",
      'const m = await import("modelgate"); if (typeof m.scan !== "function") process.exit(3);',
    ],
    expect: (r) => r.status === 0,
  },
};

function once(name) {
  const { argv, expect } = COMMANDS[name];
  const t0 = performance.now();
  const r = spawnSync(process.execPath, argv, { cwd: root, env, encoding: "utf8" });
  const ms = performance.now() - t0;
  if (expect !== undefined && !expect(r)) {
    process.stderr.write(
      `startup bench: ${name} failed (exit ${r.status ?? r.signal}):\n${r.stderr}${r.stdout.slice(0, 2000)}\n`,
    );
    process.exit(2);
  }
  return ms;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

try {
  for (const name of Object.keys(COMMANDS)) for (let i = 0; i < 3; i++) once(name); // warm-up, fills the cache
  const times = Object.fromEntries(Object.keys(COMMANDS).map((n) => [n, []]));
  for (let i = 0; i < runs; i++) for (const name of Object.keys(COMMANDS)) times[name].push(once(name));

  const base = median(times.node);
  const figures = Object.fromEntries(Object.keys(TARGETS).map((n) => [n, Math.max(0, median(times[n]) - base)]));
  const baseline = existsSync(baselinePath) ? JSON.parse(readFileSync(baselinePath, "utf8")) : undefined;

  process.stdout.write(`node -e 0: median ${base.toFixed(1)} ms over ${runs} runs (${process.version})\n`);
  process.stdout.write(
    `${"command".padEnd(9)} ${"median".padStart(8)} ${"over node".padStart(10)} ${"target".padStart(7)} ${"÷target".padStart(8)} ${"baseline".padStart(9)} ${"÷baseline".padStart(10)}\n`,
  );
  const regressions = [];
  for (const [name, over] of Object.entries(figures)) {
    const target = TARGETS[name];
    const was = baseline?.overMs?.[name];
    const ratio = was === undefined || was === 0 ? undefined : over / was;
    process.stdout.write(
      `${name.padEnd(9)} ${median(times[name]).toFixed(1).padStart(8)} ${over.toFixed(1).padStart(10)} ${String(target).padStart(7)} ${(over / target).toFixed(2).padStart(8)} ${(was === undefined ? "-" : was.toFixed(1)).padStart(9)} ${(ratio === undefined ? "-" : ratio.toFixed(2)).padStart(10)}${over > target ? "  (over target)" : ""}\n`,
    );
    if (was !== undefined && over > was * (1 + TOLERANCE) && over - was > NOISE_MS)
      regressions.push({ name, over, was });
  }

  if (update) {
    const record = {
      note: "ms over `node -e 0`, medians; rewrite with `npm run bench -- startup --update-baseline`",
      node: process.version,
      runs,
      overMs: Object.fromEntries(Object.entries(figures).map(([n, v]) => [n, Math.round(v * 10) / 10])),
    };
    writeFileSync(baselinePath, `${JSON.stringify(record, null, 2)}\n`);
    process.stdout.write(`baseline written to ${baselinePath}\n`);
  } else if (baseline === undefined) {
    process.stdout.write(`no baseline at ${baselinePath}: run with --update-baseline to record one\n`);
  } else if (regressions.length > 0) {
    for (const { name, over, was } of regressions) {
      process.stdout.write(
        `REGRESSION startup ${name}: ${over.toFixed(1)} ms over node, baseline ${was.toFixed(1)} ms (+${((over / was - 1) * 100).toFixed(0)} %, limit +${TOLERANCE * 100} %)\n`,
      );
    }
    process.exitCode = 1;
  } else {
    process.stdout.write(`no regression against ${baselinePath} (limit +${TOLERANCE * 100} %)\n`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
