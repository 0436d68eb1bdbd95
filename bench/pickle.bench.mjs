// Pickle engine throughput and memory, per pickle shape, against CPython's own pickle.load.
//
// Shapes (issue 14), written by CPython's pickler through bench/pickle_shapes.py (deterministic):
//   floats    206 MiB list of 24M floats (protocol 4)
//   dict       56 MiB str -> int dict of 3.1M entries (protocol 4)
//   tuples     61 MiB list of 2.2M (int, str, float, None) tuples (protocol 4)
//   intlists   83 MiB protocol-2 list of 800k lists of ten 62-bit ints (LONG1)
//   torch     a GPT-2 (124M parameters) sized torch.save state dict, when python3 has torch
// plus `mixed`, written here in JS (no Python needed): ~200 MB protocol-4 {"floats": [...],
// "counts": {...}} laid out as CPython's pickler does (64 KiB frames, memoized strs, batches of
// 1000).
//
// Each scan runs in its own process: the library's `scan` of the file twice (the second, warm, is
// reported), peak RSS = the process's VmHWM. CPython's `pickle.load` (torch.load for torch) runs in
// its own process, twice, best reported. Prints MB/s for both, the ratio and the goals: every shape
// >= 300 MB/s, >= 5x CPython, peak RSS <= 150 MB.
//
// `node bench/pickle.bench.mjs [shape...]` runs some shapes; MODELGATE_BENCH_PICKLE_SCALE scales
// the Python shapes (default 1); MODELGATE_BENCH_DIST scans with another build of the library
// (default ../dist).
import { execFileSync, spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const self = fileURLToPath(import.meta.url);
const here = dirname(self);
const dist = resolve(process.env.MODELGATE_BENCH_DIST ?? join(here, "..", "dist"));
const MB = 1024 * 1024;

function peakRss() {
  try {
    const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
    if (kb !== undefined) return Number(kb) * 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024;
}

if (process.argv[2] === "--scan") {
  const file = process.argv[3];
  const { scan } = await import(join(dist, "index.js"));
  let best;
  for (let i = 0; i < 2; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const report = await scan(file, { hash: false, signature: false });
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(c0);
    const f = report.files[0];
    const r = {
      ms,
      cpuMs: (cpu.user + cpu.system) / 1000,
      verdict: f.verdict,
      opcodes: f.facts?.["pickle.opcodes"] ?? 0,
      rules: [...new Set(f.findings.map((x) => x.ruleId))],
    };
    if (best === undefined || r.ms < best.ms) best = r;
  }
  process.stdout.write(JSON.stringify({ ...best, peak: peakRss() }));
  process.exit(0);
}

const only = process.argv.slice(2);
const scale = process.env.MODELGATE_BENCH_PICKLE_SCALE ?? "1";
const python = ["/usr/bin/python3", "python3"].find((p) => {
  if (p.startsWith("/") && !existsSync(p)) return false;
  return spawnSync(p, ["-c", "import pickle"], { stdio: "ignore" }).status === 0;
});
const hasTorch = python !== undefined && spawnSync(python, ["-c", "import torch"], { stdio: "ignore" }).status === 0;

// ---------------------------------------------------------------- the JS-written shape
function writeMixed(file, totalMb) {
  const floats = Math.floor((totalMb * MB * 0.5) / 9);
  const entries = Math.floor((totalMb * MB * 0.5) / 18);
  const fd = openSync(file, "w");
  const FRAME_TARGET = 64 * 1024;
  let frame = Buffer.alloc(256 * 1024);
  let flen = 0;
  const put = (b) => {
    if (flen + b.length > frame.length) {
      const next = Buffer.alloc(Math.max(frame.length * 2, flen + b.length));
      frame.copy(next, 0, 0, flen);
      frame = next;
    }
    b.copy(frame, flen);
    flen += b.length;
  };
  const commit = (force = false) => {
    if (flen === 0 || (!force && flen < FRAME_TARGET)) return;
    const head = Buffer.alloc(9);
    head[0] = 0x95;
    head.writeBigUInt64LE(BigInt(flen), 1);
    writeSync(fd, head);
    writeSync(fd, frame, 0, flen);
    flen = 0;
  };
  const u8 = (...b) => Buffer.from(b);
  const sbu = (s) => Buffer.concat([u8(0x8c, Buffer.byteLength(s)), Buffer.from(s)]);
  const memoize = () => put(u8(0x94));
  const binfloat = Buffer.alloc(9);
  binfloat[0] = 0x47;
  const binint = Buffer.alloc(5);
  binint[0] = 0x4a;
  writeSync(fd, u8(0x80, 4));
  put(u8(0x7d));
  memoize();
  put(u8(0x28));
  put(sbu("floats"));
  memoize();
  put(u8(0x5d));
  memoize();
  let x = 0.5;
  for (let i = 0; i < floats; i += 1000) {
    put(u8(0x28));
    for (let k = i; k < Math.min(floats, i + 1000); k++) {
      x = (x * 1103515245 + 12345) % 2147483648;
      binfloat.writeDoubleBE(x / 2147483648, 1);
      put(binfloat);
    }
    put(u8(0x65));
    commit();
  }
  put(sbu("counts"));
  memoize();
  put(u8(0x7d));
  memoize();
  for (let i = 0; i < entries; i += 1000) {
    put(u8(0x28));
    for (let k = i; k < Math.min(entries, i + 1000); k++) {
      put(sbu(`key${String(k).padStart(8, "0")}`));
      memoize();
      binint.writeInt32LE(k, 1);
      put(binint);
    }
    put(u8(0x75));
    commit();
  }
  put(u8(0x75, 0x2e));
  commit(true);
  closeSync(fd);
  return 2; // top-level keys
}

// ---------------------------------------------------------------- measure
const SHAPES = [
  { name: "floats", what: "list of 24M floats, protocol 4" },
  { name: "dict", what: "str -> int dict, 3.1M entries, protocol 4" },
  { name: "tuples", what: "list of 2.2M (int, str, float, None), protocol 4" },
  { name: "intlists", what: "protocol 2 list of 800k lists of 10 LONG1 ints" },
  { name: "torch", what: "torch.save of a GPT-2 (124M) state dict" },
  { name: "mixed", what: "{floats: [...], counts: {...}} written in JS, protocol 4" },
];

function runScan(file) {
  const out = execFileSync(process.execPath, [self, "--scan", file], { maxBuffer: 1 << 20 });
  return JSON.parse(out.toString());
}

function runPython(file, torch) {
  const load = torch ? "torch.load(f)" : "pickle.load(f)";
  const code = [
    `import pickle, resource, sys, time${torch ? ", torch" : ""}`,
    "best = None",
    "for _ in range(2):",
    "    t = time.perf_counter()",
    `    with open(sys.argv[1], 'rb') as f: obj = ${load}`,
    "    ms = (time.perf_counter() - t) * 1000",
    "    best = ms if best is None else min(best, ms)",
    "    n = len(obj); del obj",
    "print(best, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, n)",
  ].join("\n");
  const out = execFileSync(python, ["-c", code, file], { maxBuffer: 1 << 20 })
    .toString()
    .trim()
    .split(/\s+/)
    .map(Number);
  return { ms: out[0], peak: out[1] * 1024, items: out[2] };
}

const dir = mkdtempSync(join(tmpdir(), "modelgate-pickle-bench-"));
const rows = [];
let failed = false;
try {
  process.stdout.write(`library: ${dist}\n`);
  for (const shape of SHAPES) {
    if (only.length > 0 && !only.includes(shape.name)) continue;
    const file = join(dir, `${shape.name}.${shape.name === "torch" ? "pt" : "pkl"}`);
    let items;
    if (shape.name === "mixed") items = writeMixed(file, Number(process.env.MODELGATE_BENCH_PICKLE_MB ?? 200));
    else if (python === undefined) {
      process.stdout.write(`${shape.name}: skipped (no python3 to write it with CPython's pickler)\n`);
      continue;
    } else if (shape.name === "torch" && !hasTorch) {
      process.stdout.write("torch: skipped (python3 has no torch; install python3-torch)\n");
      continue;
    } else {
      items = Number(
        execFileSync(python, [join(here, "pickle_shapes.py"), shape.name, file, scale], { maxBuffer: 1 << 20 }),
      );
    }
    const size = statSync(file).size;
    const mg = runScan(file);
    const py = python === undefined ? undefined : runPython(file, shape.name === "torch");
    if (py !== undefined && py.items !== items) throw new Error(`${shape.name}: CPython read another object`);
    try {
      rmSync(file);
    } catch {
      // kept
    }
    const mb = size / MB;
    const row = {
      shape: shape.name,
      what: shape.what,
      mb,
      ms: mg.ms,
      mbps: mb / (mg.ms / 1000),
      peakMb: mg.peak / MB,
      opcodes: mg.opcodes,
      verdict: mg.verdict,
      rules: mg.rules,
      pyMs: py?.ms,
      pyMbps: py === undefined ? undefined : mb / (py.ms / 1000),
      ratio: py === undefined ? undefined : py.ms / mg.ms,
    };
    rows.push(row);
    const goals = [row.mbps >= 300, row.peakMb <= 150, row.ratio === undefined || row.ratio >= 5];
    if (goals.includes(false)) failed = true;
    process.stdout.write(
      `${shape.name.padEnd(8)} ${mb.toFixed(0).padStart(4)} MB  modelgate ${row.ms.toFixed(0).padStart(6)} ms ` +
        `${row.mbps.toFixed(0).padStart(5)} MB/s (${(mg.opcodes / (mg.ms / 1000) / 1e6).toFixed(0)} M opcodes/s), ` +
        `peak RSS ${row.peakMb.toFixed(0)} MB, ${row.verdict}` +
        (py === undefined
          ? "; CPython skipped"
          : `  |  CPython ${py.ms.toFixed(0)} ms ${row.pyMbps.toFixed(0)} MB/s  |  ${row.ratio.toFixed(1)}x CPython`) +
        `  [${goals.every(Boolean) ? "goals met" : "goals NOT met"}]\n`,
    );
  }
  process.stdout.write(
    "goals: >= 300 MB/s, >= 5x CPython's load of the same file, peak RSS <= 150 MB (informational: the bench does not fail on them)\n",
  );
  if (failed) process.stdout.write("some goals not met\n");
} finally {
  rmSync(dir, { recursive: true, force: true });
}
