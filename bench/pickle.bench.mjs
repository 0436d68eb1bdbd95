// Pickle engine throughput and memory on an opcode-dense pickle.
//
// Writes a ~200 MB protocol-4 pickle the way CPython's pickler lays it out (64 KiB frames, memoized
// strings, batches of 1000 APPENDS/SETITEMS): {"floats": [~11M floats], "counts": {"key00000000":
// 0, ... ~5M entries}}. Then, each in its own process:
//   - modelgate's scan of the file (the whole engine: sniffing, pickle machine, policy), and
//   - when /usr/bin/python3 (or python3) exists, CPython's own pickle.load of the same file, the
//     in-run baseline.
// Prints MB/s, opcodes/s, peak RSS and CPU time for both, and the targets (>= 300 MB/s, peak RSS
// <= 150 MB, faster than CPython). Size: MODELGATE_BENCH_PICKLE_MB (default 200).
import { execFileSync, spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "..", "dist");
const role = process.argv[2];

if (role === "scan") {
  const file = process.argv[3];
  const { scan } = await import(join(dist, "index.js"));
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const report = await scan(file, { hash: false });
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  const f = report.files[0];
  process.stdout.write(
    JSON.stringify({
      ms,
      cpuMs: (cpu.user + cpu.system) / 1000,
      maxRssKb: process.resourceUsage().maxRSS,
      verdict: f.verdict,
      opcodes: f.facts?.["pickle.opcodes"],
      findings: f.findings.length,
    }),
  );
  process.exit(0);
}

// ---------------------------------------------------------------- generate the pickle
const MB = 1024 * 1024;
const totalMb = Number(process.env.MODELGATE_BENCH_PICKLE_MB ?? 200);
const floats = Math.floor((totalMb * MB * 0.5) / 9);
const entries = Math.floor((totalMb * MB * 0.5) / 18);

const dir = mkdtempSync(join(tmpdir(), "modelgate-pickle-bench-"));
const file = join(dir, "dense.pkl");
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
const MEMOIZE = u8(0x94);
const memoize = () => put(MEMOIZE);
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
const size = statSync(file).size;

// ---------------------------------------------------------------- measure
const runScan = () => {
  const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), "scan", file], { maxBuffer: 1 << 20 });
  return JSON.parse(out.toString());
};
const python = ["/usr/bin/python3", "python3"].find((p) => {
  if (p.startsWith("/") && !existsSync(p)) return false;
  return spawnSync(p, ["-c", "import pickle"], { stdio: "ignore" }).status === 0;
});
const runPython = () => {
  const code = [
    "import pickle, resource, sys, time",
    "t = time.perf_counter(); c = time.process_time()",
    "with open(sys.argv[1], 'rb') as f: obj = pickle.load(f)",
    "ms = (time.perf_counter() - t) * 1000; cpu = (time.process_time() - c) * 1000",
    "print(ms, cpu, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, len(obj['floats']), len(obj['counts']))",
  ].join("\n");
  const out = execFileSync(python, ["-c", code, file], { maxBuffer: 1 << 20 })
    .toString()
    .trim()
    .split(/\s+/)
    .map(Number);
  return { ms: out[0], cpuMs: out[1], maxRssKb: out[2], floats: out[3], entries: out[4] };
};

try {
  const mb = size / MB;
  process.stdout.write(
    `pickle: ${mb.toFixed(0)} MB, ${floats} floats + ${entries} dict entries (protocol 4, framed)\n`,
  );
  const scans = [runScan(), runScan()];
  const best = scans.reduce((a, b) => (b.ms < a.ms ? b : a));
  const mbps = mb / (best.ms / 1000);
  process.stdout.write(
    `modelgate: ${best.ms.toFixed(0)} ms wall (${mbps.toFixed(0)} MB/s, ${(best.opcodes / (best.ms / 1000) / 1e6).toFixed(1)} M opcodes/s), ` +
      `${best.cpuMs.toFixed(0)} ms CPU (${(mb / (best.cpuMs / 1000)).toFixed(0)} MB/s), peak RSS ${(best.maxRssKb / 1024).toFixed(0)} MB, ` +
      `${best.opcodes} opcodes, verdict ${best.verdict}\n`,
  );
  let py;
  if (python !== undefined) {
    py = runPython();
    if (py.floats !== floats || py.entries !== entries)
      throw new Error("CPython read a different object than was written");
    process.stdout.write(
      `CPython pickle.load (baseline, ${python}): ${py.ms.toFixed(0)} ms wall (${(mb / (py.ms / 1000)).toFixed(0)} MB/s), ` +
        `${py.cpuMs.toFixed(0)} ms CPU, peak RSS ${(py.maxRssKb / 1024).toFixed(0)} MB\n`,
    );
    process.stdout.write(
      `ratio: modelgate is ${(py.ms / best.ms).toFixed(2)}x CPython's wall time, ${(py.cpuMs / best.cpuMs).toFixed(2)}x its CPU time, ` +
        `${(py.maxRssKb / best.maxRssKb).toFixed(1)}x less memory\n`,
    );
  } else {
    process.stdout.write("CPython baseline skipped: no python3 on this machine\n");
  }
  const ok = (b) => (b ? "met" : "NOT met");
  process.stdout.write(
    `targets: >= 300 MB/s ${ok(mbps >= 300)}; peak RSS <= 150 MB ${ok(best.maxRssKb / 1024 <= 150)}` +
      `${py === undefined ? "" : `; faster than CPython ${ok(best.ms < py.ms)}`}\n`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
