#!/usr/bin/env node
// Hub source benchmark against the loopback mock Hub (test/sources/hub/mock-hub.ts, loaded with
// Node's type stripping). No network beyond 127.0.0.1.
//  1. A repo with a 2 GiB sparse safetensors file and a 500 MiB torch-like zip checkpoint, served
//     from temp files: bytes transferred by a scan without full verification, as a fraction of
//     the repo (baseline: downloading it), then a warm-cache rescan (listings only).
//  1b. The real files of samples/hub/ (safetensors, GGUF, torch.save zip, pickle): bytes and
//     requests per file, against downloading it.
//  2. A 200-file synthetic repo: files/s and MB/s for a scan, and for a fully verified scan,
//     against a plain download of every file measured in the same run.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { FileVerdictCache, HubTransport, scan } from "../dist/index.js";
import { MockHub } from "../test/sources/hub/mock-hub.ts";

const SAMPLES_HUB = new URL("../samples/hub/", import.meta.url).pathname;
const MiB = 1 << 20;
const GiB = 1 << 30;
const COMMIT = "c".repeat(40);
const fmt = (n, d = 1) => n.toFixed(d);
const mb = (n) => `${fmt(n / 1e6)} MB`;

/** A VirtualContent over a file on disk (holes read as zeros). */
async function fileContent(path) {
  const handle = await open(path, "r");
  const { size } = await handle.stat();
  return {
    size,
    handle,
    async read(start, end) {
      const buf = new Uint8Array(Math.max(0, Math.min(end, size) - start));
      let at = 0;
      while (at < buf.length) {
        const { bytesRead } = await handle.read(buf, at, buf.length - at, start + at);
        if (bytesRead === 0) break;
        at += bytesRead;
      }
      return buf;
    },
  };
}

/**
 * SHA-256 of a sparse file from the pieces written into it (holes are zeros), without reading
 * gigabytes of holes back from disk.
 */
function sha256OfLayout(size, pieces) {
  const hash = createHash("sha256");
  const zeros = Buffer.alloc(16 * MiB);
  const gap = (n) => {
    for (let left = n; left > 0; left -= zeros.length) hash.update(zeros.subarray(0, Math.min(left, zeros.length)));
  };
  let at = 0;
  for (const p of [...pieces].sort((a, b) => a.offset - b.offset)) {
    gap(p.offset - at);
    hash.update(p.bytes);
    at = p.offset + p.bytes.length;
  }
  gap(size - at);
  return hash.digest("hex");
}

/** Safetensors header for `tensors` F16 tensors filling `total` bytes, padded to 8. */
function safetensorsHeader(tensors, total) {
  const header = { __metadata__: { format: "pt" } };
  const guess = 8 + 120 * tensors + 64;
  const dataSize = total - guess - (8 - (guess % 8));
  const per = Math.floor(dataSize / tensors / 2) * 2;
  for (let i = 0; i < tensors; i++) {
    const begin = i * per;
    const end = i === tensors - 1 ? dataSize : begin + per;
    header[`model.layers.${i}.weight`] = { dtype: "F16", shape: [(end - begin) / 2], data_offsets: [begin, end] };
  }
  let text = JSON.stringify(header);
  const pad = total - dataSize - 8 - Buffer.byteLength(text);
  if (pad < 0) throw new Error("header estimate too small");
  text += " ".repeat(pad);
  const out = Buffer.alloc(8 + Buffer.byteLength(text));
  out.writeBigUInt64LE(BigInt(Buffer.byteLength(text)));
  out.write(text, 8);
  return out;
}

/** A stored (uncompressed) zip shaped like a torch.save checkpoint; the big tensor is a hole. */
async function writeTorchLike(path, tensorBytes) {
  const pieces = [];
  const put = async (handle, bytes, offset) => {
    pieces.push({ offset, bytes: Buffer.from(bytes) });
    await handle.write(bytes, 0, bytes.length, offset);
  };
  // Protocol-2 pickle of an empty dict: the shape of data.pkl matters here, not its content.
  const entries = [
    { name: "archive/data.pkl", data: Buffer.from([0x80, 0x02, 0x7d, 0x71, 0x00, 0x2e]) },
    { name: "archive/version", data: Buffer.from("3\n") },
    { name: "archive/data/0", size: tensorBytes },
  ];
  const handle = await open(path, "w");
  let offset = 0;
  const central = [];
  for (const e of entries) {
    const size = e.data?.length ?? e.size;
    let crc = 0;
    if (e.data) crc = crc32(e.data);
    else {
      const zeros = Buffer.alloc(16 * MiB);
      for (let left = size; left > 0; left -= zeros.length)
        crc = crc32(zeros.subarray(0, Math.min(left, zeros.length)), crc);
    }
    const name = Buffer.from(e.name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(size, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    await put(handle, Buffer.concat([local, name]), offset);
    if (e.data) await put(handle, e.data, offset + 30 + name.length);
    central.push({ name, crc, size, offset });
    offset += 30 + name.length + size;
  }
  const cdStart = offset;
  for (const c of central) {
    const h = Buffer.alloc(46);
    h.writeUInt32LE(0x02014b50, 0);
    h.writeUInt16LE(20, 4);
    h.writeUInt16LE(20, 6);
    h.writeUInt32LE(c.crc, 16);
    h.writeUInt32LE(c.size, 20);
    h.writeUInt32LE(c.size, 24);
    h.writeUInt16LE(c.name.length, 28);
    h.writeUInt32LE(c.offset, 42);
    const rec = Buffer.concat([h, c.name]);
    await put(handle, rec, offset);
    offset += rec.length;
  }
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(central.length, 8);
  eocd.writeUInt16LE(central.length, 10);
  eocd.writeUInt32LE(offset - cdStart, 12);
  eocd.writeUInt32LE(cdStart, 16);
  await put(handle, eocd, offset);
  await handle.close();
  return sha256OfLayout(offset + 22, pieces);
}

const dir = await mkdtemp(join(tmpdir(), "mg-hub-bench-"));
const opened = [];
let hub;
try {
  // ---- 1. large-file repo -------------------------------------------------------------------
  const stPath = join(dir, "model.safetensors");
  const st = await open(stPath, "w");
  const header = safetensorsHeader(400, 2 * GiB);
  await st.write(header, 0, header.length, 0);
  await st.truncate(2 * GiB);
  await st.close();
  const ptPath = join(dir, "pytorch_model.bin");
  const t0 = performance.now();
  const stOid = sha256OfLayout(2 * GiB, [{ offset: 0, bytes: header }]);
  const ptOid = await writeTorchLike(ptPath, 500 * MiB);
  const stContent = await fileContent(stPath);
  const ptContent = await fileContent(ptPath);
  opened.push(stContent, ptContent);
  hub = await MockHub.start([
    {
      name: "bench/large",
      refs: { main: COMMIT },
      commits: {
        [COMMIT]: [
          { path: "config.json", content: Buffer.from('{"architectures":["LlamaForCausalLM"],"model_type":"llama"}') },
          { path: "model.safetensors", content: stContent, lfs: true, sha256: stOid },
          { path: "pytorch_model.bin", content: ptContent, lfs: true, sha256: ptOid },
        ],
      },
    },
  ]);
  const repoBytes = stContent.size + ptContent.size + 64;
  console.log(
    `large repo: model.safetensors ${mb(stContent.size)} (sparse, 400 tensors) + pytorch_model.bin ${mb(ptContent.size)}; written and hashed in ${fmt((performance.now() - t0) / 1000, 2)} s`,
  );
  const cacheDir = join(dir, "cache");
  const target = { hub: { repo: "bench/large", hubUrl: hub.url, env: {} } };
  let logStart = hub.log.length;
  let t = performance.now();
  const cold = await scan(target, { cache: new FileVerdictCache(cacheDir) });
  const coldMs = performance.now() - t;
  const coldBytes = hub.bodyBytes((e) => hub.log.indexOf(e) >= logStart);
  const stFile = cold.files.find((f) => f.path === "model.safetensors");
  const ptFile = cold.files.find((f) => f.path === "pytorch_model.bin");
  const stFrac = stFile.integrity.bytesFetched / stContent.size;
  console.log(
    `cold scan (verify=read): ${fmt(coldMs)} ms, ${cold.target.hub.requests} requests, ${coldBytes} bytes transferred = ${fmt((100 * coldBytes) / repoBytes, 4)}% of the repo (baseline: full download = 100%)`,
  );
  console.log(
    `  model.safetensors: ${stFile.integrity.bytesFetched} bytes = ${fmt(100 * stFrac, 4)}% of the file (goal < 0.1%: ${stFrac < 0.001 ? "met" : "NOT MET"}), integrity ${stFile.integrity.status}, verdict ${stFile.verdict} (${stFile.findings.map((f) => f.ruleId).join(", ") || "no findings"})`,
  );
  console.log(
    `  pytorch_model.bin: ${ptFile.integrity.bytesFetched} bytes = ${fmt((100 * ptFile.integrity.bytesFetched) / ptContent.size, 4)}% of the file, integrity ${ptFile.integrity.status}, format ${ptFile.format}, verdict ${ptFile.verdict}`,
  );
  logStart = hub.log.length;
  t = performance.now();
  const warm = await scan(target, { cache: new FileVerdictCache(cacheDir) });
  const warmMs = performance.now() - t;
  const warmLog = hub.log.slice(logStart);
  const kinds = {};
  for (const e of warmLog) {
    const kind = e.server === "cdn" ? "cdn" : (e.path.match(/\/(revision|tree|paths-info|resolve)\//)?.[1] ?? "other");
    kinds[kind] = (kinds[kind] ?? 0) + e.bodyBytes;
  }
  const lfsRead = warmLog.some(
    (e) => e.server === "cdn" || /\/resolve\/.*\/(model\.safetensors|pytorch_model\.bin)$/.test(e.path),
  );
  console.log(
    `warm rescan (verdict cache): ${fmt(warmMs)} ms, ${warmLog.length} requests, ${warmLog.reduce((n, e) => n + e.bodyBytes, 0)} bytes: ${Object.entries(
      kinds,
    )
      .map(([k, v]) => `${k} ${v} B`)
      .join(
        ", ",
      )}; LFS files read again: ${lfsRead ? "YES" : "no"}; ${warm.files.filter((f) => f.cached).length}/${warm.files.length} files from cache (config.json is a git file without a SHA-256 oid: re-read, ${warm.files.find((f) => f.path === "config.json").size} bytes)`,
  );
  await hub.close();
  hub = undefined;

  // ---- 1b. real files (samples/hub: safetensors, gguf-py, torch.save, pickle) ---------------
  {
    const names = ["model.safetensors", "model.gguf", "pytorch_model.bin", "forest.pkl"];
    const real = names.map((path) => ({
      path,
      content: new Uint8Array(readFileSync(join(SAMPLES_HUB, path))),
      lfs: true,
    }));
    hub = await MockHub.start([{ name: "bench/real", refs: { main: COMMIT }, commits: { [COMMIT]: real } }]);
    console.log("\nreal files (samples/hub), one scan each (baseline: downloading the file = 100%):");
    for (const f of real) {
      const start = hub.log.length;
      const r = await scan({ hub: { repo: "bench/real", hubUrl: hub.url, env: {}, paths: [f.path] } });
      const rep = r.files[0];
      const cdn = hub.log.slice(start).filter((e) => e.server === "cdn");
      const bytes = cdn.reduce((n, e) => n + e.bodyBytes, 0);
      console.log(
        `  ${f.path.padEnd(18)} ${String(f.content.length).padStart(8)} B: ${bytes} B in ${cdn.length} range requests = ${fmt((100 * bytes) / f.content.length)}% of the file, integrity ${rep.integrity.status}, verdict ${rep.verdict}`,
      );
    }
    await hub.close();
    hub = undefined;
  }

  // ---- 2. 200-file synthetic repo -----------------------------------------------------------
  const files = [];
  let total = 0;
  for (let i = 0; i < 200; i++) {
    let content;
    let lfs = true;
    if (i % 4 === 0) {
      content = Buffer.from(JSON.stringify({ i, vocab: "x".repeat(2000 + i * 10) }));
      lfs = false;
    } else if (i % 4 === 1) {
      const size = (1 + (i % 7)) * MiB;
      content = Buffer.alloc(size);
      const h = safetensorsHeader(8, size);
      h.copy(content);
    } else {
      content = Buffer.alloc((256 << 10) * (1 + (i % 5)), i & 0xff);
    }
    total += content.length;
    const ext = i % 4 === 0 ? "json" : i % 4 === 1 ? "safetensors" : "bin";
    files.push({ path: `shard-${String(i).padStart(3, "0")}.${ext}`, content, lfs });
  }
  hub = await MockHub.start([{ name: "bench/many", refs: { main: COMMIT }, commits: { [COMMIT]: files } }]);
  const many = { repo: "bench/many", hubUrl: hub.url, env: {} };
  console.log(`\n200-file repo: ${mb(total)}`);

  // Baseline: what a mirror does without modelgate: download every file (fetch, 8 at a time,
  // following the resolve redirect) and check its SHA-256.
  const download = async () => {
    let next = 0;
    let bytes = 0;
    const worker = async () => {
      while (next < files.length) {
        const f = files[next++];
        const res = await fetch(`${hub.url}/${many.repo}/resolve/${COMMIT}/${f.path}`);
        const buf = new Uint8Array(await res.arrayBuffer());
        createHash("sha256").update(buf).digest("hex");
        bytes += buf.length;
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    return bytes;
  };
  const best = async (fn, runs = 3) => {
    let ms = Number.POSITIVE_INFINITY;
    let value;
    for (let r = 0; r < runs; r++) {
      const t1 = performance.now();
      value = await fn();
      ms = Math.min(ms, performance.now() - t1);
    }
    return { ms, value };
  };
  const base = await best(download);
  console.log(
    `baseline (download + SHA-256 of every file): ${fmt(base.ms)} ms, ${fmt(files.length / (base.ms / 1000))} files/s, ${fmt(base.value / 1e6 / (base.ms / 1000))} MB/s`,
  );
  for (const verify of ["read", "full"]) {
    const start = hub.log.length;
    const run = await best(() =>
      scan({ hub: { ...many, verify, transport: new HubTransport({ maxConnections: 8 }) } }, { concurrency: 8 }),
    );
    const transferred = hub.bodyBytes((e) => hub.log.indexOf(e) >= start) / 3;
    const report = run.value;
    const verified = report.files.filter((f) => f.integrity?.status === "verified").length;
    console.log(
      `scan verify=${verify}: ${fmt(run.ms)} ms, ${fmt(files.length / (run.ms / 1000))} files/s, ${fmt(total / 1e6 / (run.ms / 1000))} MB/s of repo, ${mb(transferred)} transferred per scan (${fmt((100 * transferred) / total, 2)}% of the repo), ${verified}/200 verified, time ${fmt(run.ms / base.ms, 2)}x the download baseline`,
    );
  }
  console.log(`peak RSS ${fmt(process.resourceUsage().maxRSS / 1024)} MiB`);
} finally {
  await hub?.close();
  for (const c of opened) await c.handle.close();
  await rm(dir, { recursive: true, force: true });
}
