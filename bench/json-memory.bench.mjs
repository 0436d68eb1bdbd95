#!/usr/bin/env node
// Worst cases for JSON memory (issue 13, item 6): config.json files built to cost the most memory
// per byte (millions of `{}`, `[]`, small numbers, one-key objects, 500-deep `{"a":{"a":...}}`
// chains, one object of millions of keys), at 24 MB and 60 MB, and the largest valid JSON a model
// repository ships (a Gemma-3-sized tokenizer.json: 262,144 vocabulary entries, 514,906 merges).
// Each is scanned from a file in its own process with --max-old-space-size=4096 (so V8 does not
// rescue a blow-up by collecting early); the peak RSS printed is that process's VmHWM.
// Fails when a hostile case peaks above 512 MiB, ends in anything but a typed `invalid` verdict, or
// when the tokenizer is not analysed (`invalid`). Cases marked "known gap" are printed, not failed:
// they go through code outside the JSON parser's budgets (the Keras analyzer's JSON.parse, the
// repository analyzer's second parse of config.json); drop the mark once those are bounded.
// `node bench/json-memory.bench.mjs objs tok` runs the matching cases only. Scanner: dist/.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const self = fileURLToPath(import.meta.url);
const LIMIT = 512 * 1024 * 1024;
const MB = 1024 * 1024;

if (process.argv[2] === "--scan-one") {
  // child: scan one directory, print one JSON line
  const { scan } = await import("../dist/index.js");
  const t0 = performance.now();
  const report = await scan(process.argv[3], { hash: false, signature: false });
  const ms = performance.now() - t0;
  const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
  const peak = kb === undefined ? process.resourceUsage().maxRSS * 1024 : Number(kb) * 1024;
  const f = report.files[0];
  const rules = [...new Set(f.findings.map((x) => x.ruleId))];
  process.stdout.write(`${JSON.stringify({ ms, peak, verdict: f.verdict, rules })}\n`);
  process.exit(0);
}

/** `[unit,unit,...]` of about `bytes` bytes. */
function repeated(unit, bytes) {
  const n = Math.max(1, Math.floor(bytes / (unit.length + 1)));
  return `[${`${unit},`.repeat(n - 1)}${unit}]`;
}

/** Deterministic pseudo-random generator. */
function lcg(seed) {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    return x / 0x7fffffff;
  };
}

/** A tokenizer.json the size of Gemma 3's (33 MB; the largest common one). */
function tokenizer() {
  const rnd = lcg(12345);
  const piece = () => {
    let s = "";
    for (let i = 1 + Math.floor(rnd() * 10); i > 0; i--) s += String.fromCharCode(97 + Math.floor(rnd() * 26));
    return s;
  };
  const vocab = {};
  for (let i = 0; i < 262_144; i++) vocab[`${piece()}_${i.toString(36)}`] = i;
  const merges = [];
  for (let j = 0; j < 514_906; j++) merges.push([piece(), piece()]);
  const added = [];
  for (let j = 0; j < 6000; j++) {
    added.push({ id: j, content: `<unused${j}>`, single_word: false, lstrip: false, rstrip: false, special: true });
  }
  const model = { type: "BPE", dropout: null, unk_token: "<unk>", byte_fallback: true, vocab, merges };
  return JSON.stringify({ version: "1.0", added_tokens: added, normalizer: null, model }, null, 2);
}

const chain = `${'{"a":'.repeat(500)}{}${"}".repeat(500)}`;
const CASES = [];
for (const mb of [24, 60]) {
  CASES.push(
    { id: `objs-${mb}`, what: `[{},{},...] ${mb} MB`, name: "config.json", text: () => repeated("{}", mb * MB) },
    { id: `arrs-${mb}`, what: `[[],[],...] ${mb} MB`, name: "config.json", text: () => repeated("[]", mb * MB) },
    { id: `nums-${mb}`, what: `[10,10,...] ${mb} MB`, name: "config.json", text: () => repeated("10", mb * MB) },
    { id: `obj1-${mb}`, what: `[{"a":0},...] ${mb} MB`, name: "config.json", text: () => repeated('{"a":0}', mb * MB) },
    {
      id: `nested-${mb}`,
      what: `500-deep {"a":{"a":..}} chains ${mb} MB`,
      name: "config.json",
      text: () => repeated(chain, mb * MB),
    },
    {
      id: `keys-${mb}`,
      what: `one object, unique keys ${mb} MB`,
      name: "config.json",
      text: () => {
        const parts = [];
        for (let i = 0, size = 2; size < mb * MB; i++) {
          const kv = `"k${i}":0`;
          parts.push(kv);
          size += kv.length + 1;
        }
        return `{${parts.join(",")}}`;
      },
    },
  );
}
CASES.push(
  {
    id: "deep-24",
    what: '{"a":{"a":... 4 M levels (24 MB)',
    name: "config.json",
    text: () => `${'{"a":'.repeat(4 * MB)}{}${"}".repeat(4 * MB)}`,
  },
  // Under 16 MiB, the repository analyzer parses config.json a second time (with a 32 MiB tree
  // budget of its own, so two trees at once stay bounded).
  {
    id: "objs-12",
    what: "[{},{},...] 12 MB (parsed twice)",
    name: "config.json",
    text: () => repeated("{}", 12 * MB),
  },
  {
    id: "nums-12",
    what: "[10,10,...] 12 MB (parsed twice)",
    name: "config.json",
    text: () => repeated("10", 12 * MB),
  },
  {
    id: "keras-24",
    what: '{"class_name":..,[{},...]} 24 MB',
    name: "config.json",
    text: () => `{"class_name":"Functional","config":{"layers":${repeated("{}", 24 * MB)}}}`,
  },
  { id: "tok", what: "Gemma-3-sized tokenizer.json (valid)", name: "tokenizer.json", valid: true, text: tokenizer },
);

const only = process.argv.slice(2);
const work = mkdtempSync(join(tmpdir(), "modelgate-json-memory-"));
const mib = (n) => `${(n / MB).toFixed(1)} MiB`;
const row = (...cells) => process.stdout.write(`${cells.join("  ")}\n`);
let failed = 0;
let gaps = 0;
row(
  "case".padEnd(44),
  "size".padStart(10),
  "scan ms".padStart(9),
  "peak RSS".padStart(11),
  "verdict".padEnd(10),
  "rules",
);
try {
  for (const c of CASES) {
    if (only.length > 0 && !only.some((o) => c.id.includes(o))) continue;
    const dir = join(work, c.id);
    mkdirSync(dir);
    const text = c.text();
    writeFileSync(join(dir, c.name), text);
    const size = Buffer.byteLength(text);
    let r;
    try {
      const out = execFileSync(process.execPath, ["--max-old-space-size=4096", self, "--scan-one", dir], {
        maxBuffer: 1 << 24,
      });
      r = JSON.parse(out.toString().trim().split("\n").pop());
    } catch (error) {
      r = { ms: Number.NaN, peak: Number.NaN, verdict: "CRASH", rules: [String(error.status ?? error.signal)] };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const problems = [];
    if (!(r.peak <= LIMIT)) problems.push(`peak above ${mib(LIMIT)}`);
    if (c.valid && (r.verdict === "invalid" || r.verdict === "CRASH")) problems.push("not analysed");
    if (!c.valid && r.verdict !== "invalid") problems.push("not a typed invalid verdict");
    if (r.rules.includes("scan/internal-error")) problems.push("internal error");
    const mark =
      problems.length === 0
        ? ""
        : c.known
          ? `   (known gap: ${c.known}; ${problems.join(", ")})`
          : `   !!! ${problems.join(", ")}`;
    if (problems.length > 0 && c.known) gaps++;
    else if (problems.length > 0) failed++;
    row(
      c.what.padEnd(44),
      mib(size).padStart(10),
      r.ms.toFixed(0).padStart(9),
      mib(r.peak).padStart(11),
      r.verdict.padEnd(10),
      `${r.rules.join(",") || "-"}${mark}`,
    );
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
if (gaps > 0) {
  row(`\n${gaps} known gap(s)`);
}
if (failed > 0) {
  row(`${failed} JSON memory case(s) failed`);
  process.exitCode = 1;
}
