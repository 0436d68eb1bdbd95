#!/usr/bin/env node
// `npm run fuzz:diff`: differential testing of the pickle engine against CPython. Streams come from
// the well-formed generator (every protocol and opcode, test/fuzz/pickle-gen.ts), byte mutations of
// generated streams, and mutations of the pickle samples; each goes through CPython's C unpickler
// with a recording find_class (test/fuzz/python/recorder.py, nothing imported or called) and
// through modelgate's pickle engine. A stream where CPython imported or called something modelgate
// did not report is a failure, saved under test/fuzz/regressions/pickle-diff/ with CPython's record
// (so `npm test` replays it without Python).
//   --time=SECONDS   run length (MODELGATE_FUZZ_TIME, default 600)
//   --seed=N         PRNG seed (default: time-based, printed)
//   --write-slice    (re)write test/fuzz/diff/slice.json, the fixed-seed slice `npm test` replays
//   --add-regression=FILE --why=TEXT   record FILE with CPython and keep it as a regression sample
// Needs python3 (MODELGATE_PYTHON, /usr/bin/python3 or python3 on PATH); without it, says so and
// exits 0.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { inflateRawSync } from "node:zlib";
import { buildHarness, ROOT } from "./fuzz-build.mjs";

const arg = (name, fallback) => {
  const hit = process.argv.find((a) => a.startsWith(`--${name}=`));
  return hit === undefined ? fallback : hit.slice(name.length + 3);
};
const out = buildHarness(`run-${Date.now()}`, { force: true });
const load = (p) => import(join(out, "test", "fuzz", p));
const { findPython, CpythonRecorder, modelgateView, compare } = await load("diff.js");
const { generatePickle, generatePickles } = await load("pickle-gen.js");
const { mutate } = await load("mutate.js");
const { Rng } = await load("rng.js");
const { digest } = await load("engine.js");

const python = findPython();
if (python === undefined) {
  process.stdout.write(
    "fuzz:diff: no python3 found (set MODELGATE_PYTHON, or install python3): differential testing against CPython skipped\n",
  );
  process.exit(0);
}
const { spawnSync } = await import("node:child_process");
const pyVersion = spawnSync(python, ["--version"]).stdout.toString().trim();

/** Pickle samples: *.pkl files and the data.pkl members of the PyTorch zips. */
function samplePickles() {
  const found = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".pkl")) found.push(new Uint8Array(readFileSync(p)));
      else if (e.name.endsWith(".pt")) found.push(...zipMembers(readFileSync(p), /data\.pkl$/));
    }
  };
  for (const dir of ["pickle", "containers/torch"])
    if (existsSync(join(ROOT, "samples", dir))) walk(join(ROOT, "samples", dir));
  return found.filter((b) => b.length < 1 << 20);
}
function zipMembers(zip, re) {
  const outList = [];
  for (let at = zip.indexOf("PK\x03\x04"); at >= 0; at = zip.indexOf("PK\x03\x04", at + 4)) {
    const method = zip.readUInt16LE(at + 8);
    const size = zip.readUInt32LE(at + 18);
    const nlen = zip.readUInt16LE(at + 26);
    const xlen = zip.readUInt16LE(at + 28);
    const name = zip.subarray(at + 30, at + 30 + nlen).toString();
    if (!re.test(name)) continue;
    const data = zip.subarray(at + 30 + nlen + xlen, at + 30 + nlen + xlen + size);
    try {
      outList.push(new Uint8Array(method === 8 ? inflateRawSync(data) : data));
    } catch {
      // skip
    }
  }
  return outList;
}

const samples = samplePickles();
const dictionary = [
  "cos\nsystem\n",
  "\x80\x04",
  "\x95",
  "\x93",
  "R",
  "b",
  "\x81",
  "\x92",
  "c__builtin__\neval\n",
  "\x82\x07",
  "(",
  "t",
  ".",
].map((s) => Uint8Array.from(s, (c) => c.charCodeAt(0)));

/** The i-th stream of a run: generated, a mutant of a generated one, or a mutant of a sample. */
function streamAt(rng, i) {
  const kind = i % 4;
  if (kind === 0 || kind === 1) return { source: "generated", bytes: generatePickle(rng).bytes };
  const base = kind === 2 || samples.length === 0 ? generatePickle(rng).bytes : rng.pick(samples);
  const others = () => (samples.length > 0 ? rng.pick(samples) : base);
  return {
    source: kind === 2 ? "generated+mutated" : "sample+mutated",
    bytes: mutate(base, rng, { dictionary, others, maxSize: 1 << 20 }),
  };
}

let recorder = new CpythonRecorder(python);

const addRegression = arg("add-regression", undefined);
if (addRegression !== undefined) {
  const bytes = new Uint8Array(readFileSync(addRegression));
  const cp = await recorder.record(bytes);
  recorder.close();
  const c = compare(cp, await modelgateView(bytes));
  const dir = join(ROOT, "test", "fuzz", "regressions", "pickle-diff");
  mkdirSync(dir, { recursive: true });
  const indexFile = join(dir, "index.json");
  const idx = existsSync(indexFile) ? JSON.parse(readFileSync(indexFile, "utf8")) : {};
  const file = `${digest(bytes)}-stream.pkl`;
  writeFileSync(join(dir, file), bytes);
  const why = arg("why", "added by hand");
  idx[file] = {
    kind: "diff",
    signature: why,
    message: why,
    found: new Date().toISOString().slice(0, 10),
    source: "hand",
    cpython: cp,
  };
  writeFileSync(indexFile, `${JSON.stringify(idx, null, 2)}\n`);
  process.stdout.write(`fuzz:diff: saved ${file}; modelgate now misses: ${c.missing.join("; ") || "nothing"}\n`);
  process.exit(0);
}

if (process.argv.includes("--write-slice")) {
  const seed = 20261122;
  const rng = new Rng(seed + 1);
  const streams = [
    ...generatePickles(seed, 240).map((g, i) => ({ name: `gen-${i}-p${g.protocol}`, bytes: g.bytes })),
    ...Array.from({ length: 60 }, (_, i) => ({ name: `mut-${i}`, bytes: streamAt(rng, 4 * i + 3).bytes })),
  ];
  const records = [];
  for (const s of streams) records.push({ ...s, cpython: await recorder.record(s.bytes) });
  recorder.close();
  const file = join(ROOT, "test", "fuzz", "diff", "slice.json");
  mkdirSync(join(ROOT, "test", "fuzz", "diff"), { recursive: true });
  writeFileSync(
    file,
    `${JSON.stringify(
      {
        comment:
          "Made by `npm run fuzz:diff -- --write-slice`: streams and what CPython's C unpickler imported and called.",
        python: pyVersion,
        seed,
        streams: records.map((r) => ({
          name: r.name,
          b64: Buffer.from(r.bytes).toString("base64"),
          cpython: r.cpython,
        })),
      },
      null,
      1,
    )}\n`,
  );
  process.stdout.write(`fuzz:diff: wrote ${records.length} streams recorded with ${pyVersion} to ${file}\n`);
  process.exit(0);
}

const seconds = Number(arg("time", process.env.MODELGATE_FUZZ_TIME ?? 600));
const seed = Number(arg("seed", process.env.MODELGATE_FUZZ_SEED ?? Date.now() % 1_000_000_007));
const rng = new Rng(seed);
const regressions = join(ROOT, "test", "fuzz", "regressions", "pickle-diff");
const indexPath = join(regressions, "index.json");
const index = existsSync(indexPath) ? JSON.parse(readFileSync(indexPath, "utf8")) : {};
const known = new Set(Object.values(index).map((e) => e.signature));
process.stderr.write(
  `fuzz:diff: ${seconds} s, seed ${seed}, ${pyVersion} (${python}), ${samples.length} sample pickles; ${cpus().length} cpus, ${Math.round(totalmem() / 1024 ** 3)} GiB, Node ${process.version}\n`,
);
const stats = {
  streams: 0,
  cpythonTimeouts: 0,
  cpythonErrors: 0,
  cpythonImports: 0,
  cpythonCalls: 0,
  failures: 0,
  saved: 0,
  orderDiffers: 0,
  modelgateCrashes: 0,
  modelgateStopped: 0,
  modelgateStoppedCpythonDidNot: 0,
  eventsAfterStop: 0,
  slowestCpythonMs: 0,
  slowestModelgateMs: 0,
};
const stopReasons = {};
const bySource = {};
const t0 = Date.now();
for (let i = 0; Date.now() - t0 < seconds * 1000; i++) {
  const { source, bytes } = streamAt(rng, i);
  if (bytes.length === 0) continue;
  const t1 = performance.now();
  let cp;
  try {
    cp = await recorder.record(bytes, 60_000);
  } catch {
    // CPython itself took over a minute (or died) on this stream: note it, start a new recorder
    stats.cpythonTimeouts++;
    mkdirSync(join(ROOT, "reports", "fuzz", "diff-cpython-slow"), { recursive: true });
    writeFileSync(join(ROOT, "reports", "fuzz", "diff-cpython-slow", `${digest(bytes)}.pkl`), bytes);
    recorder.close();
    recorder = new CpythonRecorder(python);
    continue;
  }
  const cpMs = performance.now() - t1;
  if (cpMs > stats.slowestCpythonMs) stats.slowestCpythonMs = Math.round(cpMs);
  stats.streams++;
  bySource[source] = (bySource[source] ?? 0) + 1;
  if (cp.error !== null) stats.cpythonErrors++;
  for (const e of cp.events) {
    if (e.op === "import") stats.cpythonImports++;
    else if (e.op === "call" || e.op === "new") stats.cpythonCalls++;
  }
  let missing;
  let orderDiffers = false;
  try {
    const t2 = performance.now();
    const mg = await modelgateView(bytes);
    const mgMs = performance.now() - t2;
    if (mgMs > stats.slowestModelgateMs) stats.slowestModelgateMs = Math.round(mgMs);
    const c = compare(cp, mg);
    missing = c.missing;
    orderDiffers = c.orderDiffers;
    if (mg.stoppedAt !== undefined) {
      stats.modelgateStopped++;
      stats.eventsAfterStop += c.afterStop;
      if (cp.error === null) {
        stats.modelgateStoppedCpythonDidNot++;
        const reason = (mg.stopReason ?? "").replace(/\d+/g, "N").slice(0, 80);
        stopReasons[reason] = (stopReasons[reason] ?? 0) + 1;
        // a few examples per reason, to study (reports/ is not committed)
        if (stopReasons[reason] <= 3) {
          const dir = join(ROOT, "reports", "fuzz", "diff-stopped");
          mkdirSync(dir, { recursive: true });
          writeFileSync(join(dir, `${digest(bytes)}.pkl`), bytes);
          writeFileSync(
            join(dir, `${digest(bytes)}.json`),
            JSON.stringify({ reason: mg.stopReason, at: mg.stoppedAt, cpython: cp }, null, 1),
          );
        }
      }
    }
  } catch (error) {
    stats.modelgateCrashes++;
    missing = [`modelgate threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`];
  }
  if (orderDiffers) {
    stats.orderDiffers++;
    if (stats.orderDiffers <= 5) {
      const dir = join(ROOT, "reports", "fuzz", "diff-order");
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `${digest(bytes)}.pkl`), bytes);
      writeFileSync(join(dir, `${digest(bytes)}.json`), JSON.stringify(cp, null, 1));
    }
  }
  if (missing.length === 0) continue;
  stats.failures++;
  const signature = missing
    .map((m) => m.replace(/\d+/g, "N"))
    .sort()
    .join(" | ")
    .slice(0, 300);
  if (known.has(signature)) continue;
  known.add(signature);
  mkdirSync(regressions, { recursive: true });
  const file = `${digest(bytes)}-stream.pkl`;
  writeFileSync(join(regressions, file), bytes);
  index[file] = {
    kind: "diff",
    signature,
    message: missing.join("; ").slice(0, 500),
    found: new Date().toISOString().slice(0, 10),
    source,
    cpython: cp,
  };
  writeFileSync(indexPath, `${JSON.stringify(index, null, 2)}\n`);
  stats.saved++;
  process.stderr.write(`fuzz:diff: ${source} stream ${file}: ${missing.join("; ").slice(0, 300)}\n`);
}
recorder.close();
const summary = {
  seconds: Math.round((Date.now() - t0) / 1000),
  seed,
  python: pyVersion,
  machine: { cpus: cpus().length, memoryGiB: Math.round(totalmem() / 1024 ** 3), node: process.version },
  ...stats,
  bySource,
  // why modelgate stopped on streams the recording unpickler read to the end
  stopReasons: Object.fromEntries(
    Object.entries(stopReasons)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 20),
  ),
};
mkdirSync(join(ROOT, "reports", "fuzz"), { recursive: true });
writeFileSync(join(ROOT, "reports", "fuzz", "diff-summary.json"), `${JSON.stringify(summary, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(summary)}\n`);
process.exitCode = stats.saved > 0 ? 1 : 0;
