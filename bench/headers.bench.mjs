// safetensors and GGUF header scans of 20 GB sparse files (a 10B-parameter Llama-shaped model:
// 435 tensors; the GGUF carries a 32k-token vocabulary and a chat template), against a 2 KB-data
// copy of the same header and against a baseline measured in the same run: opening the file and
// reading exactly the header bytes with fs. Prints medians, ratios and bytes read; exits 1 if a
// 20 GB scan takes 50 ms or more.
import { mkdtemp, open, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readGgufHeader } from "../dist/formats/gguf/reader.js";
import { readSafetensorsHeader } from "../dist/formats/safetensors/parser.js";
import { scan } from "../dist/scan/engine.js";
import { GuardedSource } from "../dist/sources/byte-source.js";
import { FileSource } from "../dist/sources/file.js";

const RUNS = 30;
const WARMUP = 8;
const LIMIT_MS = 50;

/** Llama-shaped tensors: [name, shape (outer first)]. */
function tensors() {
  const hidden = 4096;
  const inter = 11008;
  const vocab = 32000;
  const out = [["model.embed_tokens.weight", [vocab, hidden]]];
  for (let i = 0; i < 48; i++) {
    const p = `model.layers.${i}`;
    for (const n of ["q_proj", "k_proj", "v_proj", "o_proj"])
      out.push([`${p}.self_attn.${n}.weight`, [hidden, hidden]]);
    out.push([`${p}.mlp.gate_proj.weight`, [inter, hidden]]);
    out.push([`${p}.mlp.up_proj.weight`, [inter, hidden]]);
    out.push([`${p}.mlp.down_proj.weight`, [hidden, inter]]);
    out.push([`${p}.input_layernorm.weight`, [hidden]]);
    out.push([`${p}.post_attention_layernorm.weight`, [hidden]]);
  }
  out.push(["model.norm.weight", [hidden]], ["lm_head.weight", [vocab, hidden]]);
  return out;
}

function safetensorsHeader() {
  const header = { __metadata__: { format: "pt" } };
  let offset = 0;
  for (const [name, shape] of tensors()) {
    const bytes = shape.reduce((a, b) => a * b, 1) * 2;
    header[name] = { dtype: "BF16", shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let text = JSON.stringify(header);
  text += " ".repeat((8 - (text.length % 8)) % 8);
  const h = Buffer.from(text);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(h.length));
  return { bytes: Buffer.concat([prefix, h]), dataLength: offset };
}

function ggufHeader() {
  const parts = [];
  const u32 = (n) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n);
    parts.push(b);
  };
  const u64 = (n) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(n));
    parts.push(b);
  };
  const str = (s) => {
    const b = Buffer.from(s);
    u64(b.length);
    parts.push(b);
  };
  const list = tensors();
  const vocab = Array.from({ length: 32000 }, (_, i) => (i < 3 ? ["<unk>", "<s>", "</s>"][i] : `▁tok${i}`));
  const template =
    "{% for message in messages %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] | trim + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' ' + message['content'] | trim + eos_token }}{% endif %}{% endfor %}";
  const scalarKv = (key, type, write) => () => {
    str(key);
    u32(type);
    write();
  };
  const kvs = [
    scalarKv("general.architecture", 8, () => str("llama")),
    scalarKv("general.name", 8, () => str("bench-10b")),
    scalarKv("llama.context_length", 4, () => u32(4096)),
    scalarKv("llama.embedding_length", 4, () => u32(4096)),
    scalarKv("llama.block_count", 4, () => u32(48)),
    scalarKv("tokenizer.ggml.model", 8, () => str("llama")),
    () => {
      str("tokenizer.ggml.tokens");
      u32(9);
      u32(8);
      u64(vocab.length);
      for (const t of vocab) str(t);
    },
    () => {
      str("tokenizer.ggml.scores");
      u32(9);
      u32(6);
      u64(vocab.length);
      parts.push(Buffer.alloc(vocab.length * 4));
    },
    () => {
      str("tokenizer.ggml.token_type");
      u32(9);
      u32(5);
      u64(vocab.length);
      parts.push(Buffer.alloc(vocab.length * 4, 1));
    },
    scalarKv("tokenizer.chat_template", 8, () => str(template)),
  ];

  parts.push(Buffer.from("GGUF"));
  u32(3);
  u64(list.length);
  u64(kvs.length);
  for (const kv of kvs) kv();
  let offset = 0;
  for (const [name, shape] of list) {
    str(name);
    u32(shape.length);
    for (const d of [...shape].reverse()) u64(d);
    u32(1); // F16
    u64(offset);
    const bytes = shape.reduce((a, b) => a * b, 1) * 2;
    offset += Math.ceil(bytes / 32) * 32;
  }
  let header = Buffer.concat(parts);
  header = Buffer.concat([header, Buffer.alloc((32 - (header.length % 32)) % 32)]);
  return { bytes: header, dataLength: offset };
}

async function median(fn) {
  for (let i = 0; i < WARMUP; i++) await fn();
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)], p95: times[Math.floor(times.length * 0.95)] };
}

async function baseline(path, length) {
  const fh = await open(path, "r");
  try {
    const buf = Buffer.alloc(length);
    await fh.read(buf, 0, length, 0);
  } finally {
    await fh.close();
  }
}

async function parse(path, reader) {
  const source = await FileSource.open(path);
  const guarded = new GuardedSource(source, {});
  try {
    const result = await reader(guarded);
    return { result, bytesRead: guarded.bytesRead };
  } finally {
    await source.close();
  }
}

const dir = await mkdtemp(join(tmpdir(), "modelgate-bench-"));
let failed = false;
try {
  const cases = [
    { name: "safetensors", ext: "safetensors", make: safetensorsHeader, reader: (s) => readSafetensorsHeader(s) },
    { name: "gguf", ext: "gguf", make: ggufHeader, reader: (s) => readGgufHeader(s) },
  ];
  for (const c of cases) {
    const { bytes, dataLength } = c.make();
    const big = join(dir, `big.${c.ext}`);
    const small = join(dir, `small.${c.ext}`);
    await writeFile(big, bytes);
    await truncate(big, bytes.length + dataLength); // sparse: ~20 GB of holes after the header
    // The small file carries the same header with 2 KB of data (its offsets point past the end:
    // the parse cost is what is compared, not validity).
    await writeFile(small, Buffer.concat([bytes, Buffer.alloc(2048)]));
    const check = await parse(big, c.reader);
    const issues = check.result.issues.map((i) => i.ruleId);
    const base = await median(() => baseline(big, bytes.length));
    const bigParse = await median(() => parse(big, c.reader));
    const smallParse = await median(() => parse(small, c.reader));
    const bigScan = await median(() => scan(big, { hash: false }));
    const smallScan = await median(() => scan(small, { hash: false }));
    const report = await scan(big, { hash: false });
    const file = report.files[0];
    const verdict = `${file.verdict}${file.findings.length > 0 ? ` (${[...new Set(file.findings.map((f) => f.ruleId))].join(", ")})` : ""}`;
    console.log(
      `${c.name}: 20 GB sparse file, header ${(bytes.length / 1024).toFixed(0)} KiB, data section ${(dataLength / 1e9).toFixed(2)} GB, header issues: ${issues.length === 0 ? "none" : issues.join(", ")}`,
    );
    console.log(
      `  baseline fs open+read of the header bytes   ${base.median.toFixed(2)} ms (p95 ${base.p95.toFixed(2)})`,
    );
    console.log(
      `  header parse, 20 GB file                     ${bigParse.median.toFixed(2)} ms (p95 ${bigParse.p95.toFixed(2)})  ${(bigParse.median / base.median).toFixed(1)}x baseline, ${check.bytesRead} bytes read`,
    );
    console.log(
      `  header parse, same header + 2 KB data        ${smallParse.median.toFixed(2)} ms  (20 GB / 2 KB = ${(bigParse.median / smallParse.median).toFixed(2)})`,
    );
    console.log(
      `  full scan() (sniff + analyzers, no hashing)   ${bigScan.median.toFixed(2)} ms (p95 ${bigScan.p95.toFixed(2)})  ${(bigScan.median / base.median).toFixed(1)}x baseline; 2 KB: ${smallScan.median.toFixed(2)} ms; verdict ${verdict}, ${report.summary.bytesRead} bytes read`,
    );
    if (bigScan.median >= LIMIT_MS || bigParse.median >= LIMIT_MS) {
      console.log(`  FAIL: a 20 GB ${c.name} scan took ${LIMIT_MS} ms or more`);
      failed = true;
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
process.exitCode = failed ? 1 : 0;
