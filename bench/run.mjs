#!/usr/bin/env node
// Runs every bench/*.bench.mjs in its own node process (so peak RSS figures are per benchmark),
// one after the other, and prints their output. Benchmarks import the built library from dist/.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
// Arguments are name filters (`npm run bench -- startup`); flags (`--update-baseline`) go to each benchmark.
const only = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const flags = process.argv.slice(2).filter((a) => a.startsWith("--"));
const files = readdirSync(here)
  .filter((f) => f.endsWith(".bench.mjs"))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
let failed = 0;
for (const file of files) {
  process.stdout.write(`\n=== ${file}\n`);
  const r = spawnSync(process.execPath, ["--expose-gc", join(here, file), ...flags], { stdio: "inherit" });
  if (r.status !== 0) {
    failed++;
    process.stdout.write(`!!! ${file} exited with ${r.status ?? r.signal}\n`);
  }
}
process.exitCode = failed === 0 ? 0 : 1;
