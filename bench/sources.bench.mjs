#!/usr/bin/env node
// https:// and s3:// sources against the loopback stand-ins (test/helpers/http-standin.ts and
// s3-standin.ts, loaded with Node's type stripping). No network beyond 127.0.0.1.
// A 2 GiB sparse safetensors file (header + a hole, made like `truncate -s 2G`) is served by both:
//  1. a scan without full verification: bytes transferred / file size (goal < 0.1 %);
//  2. a fully verified scan (`verify: "full"`, pinned SHA-256) against a plain download + SHA-256
//     measured in the same run (ratio of wall-clock times; goal <= 1.1x).
// A 500 MiB PyTorch zip (torch.save's layout: archive/data.pkl, archive/data/0 stored 500 MiB of
// zeros, archive/version, archive/byteorder; valid CRCs) is served by both too: a scan without full
// verification transfers the central directory, the pickle and what the analyzers read only.
//
// The baseline is a plain download done well: one GET of the whole object from the same stand-in,
// each chunk hashed as it arrives, nothing kept. It is measured with both of Node's clients, fetch
// (undici, what the https source uses) and node:http (what the AWS SDK uses), and the faster of the
// two is the baseline. Before the rounds one untimed download reads the sparse file once (the first
// read of its hole fills the page cache, which would slow whichever run came first). Rounds
// alternate which of download and verification goes first; best of each. The stand-ins run in this
// process, so their work is in both figures; CPU time (user + system) is printed too, of the whole
// process and of the main thread (where the stand-ins, the HTTP clients and, in the downloads, the
// SHA-256 run; a full verification hashes on a worker thread).
//
// MODELGATE_BENCH_DIST points at another build of the library (default ../dist/index.js).
// MODELGATE_BENCH_SOURCES picks parts, comma-separated: https, s3, zip (default all).
// MODELGATE_BENCH_ROUNDS sets the rounds of the full-verification comparison (default 2).
import { createHash } from "node:crypto";
import { mkdtemp, open, rm } from "node:fs/promises";
import { get } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { crc32 } from "node:zlib";
import { HttpStandin } from "../test/helpers/http-standin.ts";
import { S3Standin } from "../test/helpers/s3-standin.ts";

const dist = process.env.MODELGATE_BENCH_DIST ?? new URL("../dist/index.js", import.meta.url).href;
const { scan } = await import(dist.startsWith("file:") ? dist : pathToFileURL(dist).href);

const MiB = 1 << 20;
const SIZE = 2 * 1024 * MiB;
const pct = (a, b) => `${((100 * a) / b).toFixed(4)}%`;
const secs = (ms) => `${(ms / 1000).toFixed(1)} s`;

/**
 * The pickle torch.save writes for `{"w": tensor}` with one float32 storage of `numel` elements
 * (protocol 2, storage key "0"): OrderedDict, _rebuild_tensor_v2, a persistent id for the storage.
 */
function torchPickle(numel) {
  const parts = [];
  const op = (...b) => parts.push(Buffer.from(b));
  const str = (s) => {
    const b = Buffer.from(s);
    const len = Buffer.alloc(4);
    len.writeUInt32LE(b.length);
    parts.push(Buffer.from([0x58]), len, b); // BINUNICODE
  };
  const int = (n) => {
    const b = Buffer.alloc(5);
    b[0] = 0x4a; // BININT
    b.writeInt32LE(n, 1);
    parts.push(b);
  };
  const global = (m, n) => parts.push(Buffer.from(`c${m}\n${n}\n`));
  op(0x80, 0x02);
  global("collections", "OrderedDict");
  op(0x29, 0x52, 0x28); // () REDUCE MARK
  str("w");
  global("torch._utils", "_rebuild_tensor_v2");
  op(0x28, 0x28); // MARK MARK
  str("storage");
  global("torch", "FloatStorage");
  str("0");
  str("cpu");
  int(numel);
  op(0x74, 0x51); // TUPLE BINPERSID
  int(0);
  int(numel);
  op(0x85); // TUPLE1 (size)
  int(1);
  op(0x85, 0x89); // TUPLE1 (stride), NEWFALSE
  global("collections", "OrderedDict");
  op(0x29, 0x52, 0x74, 0x52, 0x75, 0x2e); // () REDUCE TUPLE REDUCE SETITEMS STOP
  return Buffer.concat(parts);
}

/**
 * A stored zip shaped like torch.save's: the data.pkl entry and the big storage's local header
 * first (`head`), `tensorBytes` zeros, then the small entries, the central directory and the end
 * record (`tail`). Returns the layout and the SHA-256 of the whole.
 */
function torchZip(tensorBytes) {
  const zerosCrc = () => {
    const zeros = Buffer.alloc(16 * MiB);
    let crc = 0;
    for (let left = tensorBytes; left > 0; left -= zeros.length)
      crc = crc32(zeros.subarray(0, Math.min(left, zeros.length)), crc);
    return crc;
  };
  const entries = [
    { name: "archive/data.pkl", data: torchPickle(tensorBytes / 4) },
    { name: "archive/data/0", size: tensorBytes, crc: zerosCrc() },
    { name: "archive/version", data: Buffer.from("3\n") },
    { name: "archive/byteorder", data: Buffer.from("little") },
  ];
  const head = [];
  const tail = [];
  let out = head;
  let offset = 0;
  const central = [];
  for (const e of entries) {
    const size = e.data?.length ?? e.size;
    const crc = e.data === undefined ? e.crc : crc32(e.data);
    const name = Buffer.from(e.name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(size, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    out.push(local, name);
    if (e.data !== undefined) out.push(e.data);
    else out = tail; // the zeros are neither in head nor tail
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
    tail.push(h, c.name);
    offset += 46 + c.name.length;
  }
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(central.length, 8);
  eocd.writeUInt16LE(central.length, 10);
  eocd.writeUInt32LE(offset - cdStart, 12);
  eocd.writeUInt32LE(cdStart, 16);
  tail.push(eocd);
  const headBytes = Buffer.concat(head);
  const tailBytes = Buffer.concat(tail);
  const size = headBytes.length + tensorBytes + tailBytes.length;
  const tailStart = size - tailBytes.length;
  const hash = createHash("sha256").update(headBytes);
  const zeros = Buffer.alloc(16 * MiB);
  for (let left = tensorBytes; left > 0; left -= zeros.length)
    hash.update(zeros.subarray(0, Math.min(left, zeros.length)));
  hash.update(tailBytes);
  const content = {
    size,
    async read(start, end) {
      const buf = new Uint8Array(Math.max(0, Math.min(end, size) - start));
      // Copy whatever part of head and tail the range covers; the rest stays zero.
      if (start < headBytes.length) buf.set(headBytes.subarray(start, Math.min(end, headBytes.length)), 0);
      if (end > tailStart) {
        const from = Math.max(start, tailStart);
        buf.set(tailBytes.subarray(from - tailStart, Math.min(end, size) - tailStart), from - start);
      }
      return buf;
    },
  };
  return { content, sha256: hash.digest() };
}

const dir = await mkdtemp(join(tmpdir(), "mg-sources-bench-"));
try {
  // The header: one F32 tensor covering the rest of the file (iterated until the sizes agree).
  let text = "";
  for (let dataSize = SIZE - 128; ; ) {
    text = JSON.stringify({ w: { dtype: "F32", shape: [dataSize / 4], data_offsets: [0, dataSize] } });
    text += " ".repeat((8 - (text.length % 8)) % 8);
    if (8 + text.length + dataSize === SIZE) break;
    dataSize = SIZE - 8 - text.length;
  }
  const head = new Uint8Array(8 + text.length);
  new DataView(head.buffer).setBigUint64(0, BigInt(text.length), true);
  head.set(new TextEncoder().encode(text), 8);
  const path = join(dir, "model.safetensors");
  const handle = await open(path, "w+");
  await handle.write(head, 0, head.length, 0);
  await handle.truncate(SIZE); // sparse: a hole up to 2 GiB
  const content = {
    size: SIZE,
    async read(start, end) {
      const buf = new Uint8Array(Math.max(0, Math.min(end, SIZE) - start));
      let at = 0;
      while (at < buf.length) {
        const { bytesRead } = await handle.read(buf, at, buf.length - at, start + at);
        if (bytesRead === 0) break;
        at += bytesRead;
      }
      return buf;
    },
  };
  // SHA-256 of header + zeros, computed without reading the hole back.
  const hash = createHash("sha256").update(head);
  const zeros = Buffer.alloc(16 * MiB);
  for (let left = SIZE - head.length; left > 0; left -= zeros.length) {
    hash.update(zeros.subarray(0, Math.min(left, zeros.length)));
  }
  const digest = hash.digest();
  const hex = digest.toString("hex");

  const zip = torchZip(500 * MiB);
  const http = await HttpStandin.start({
    "/model.safetensors": { content, etag: '"sparse-2g"' },
    "/pytorch_model.bin": { content: zip.content, etag: '"torch-zip"' },
  });
  const s3 = await S3Standin.start("models", {
    "llama/model.safetensors": { content: { ...content, sha256Base64: digest.toString("base64") } },
    "torch/pytorch_model.bin": { content: { ...zip.content, sha256Base64: zip.sha256.toString("base64") } },
  });
  const s3Target = (verify) => ({
    s3: {
      bucket: "models",
      prefix: "llama/",
      pathStyle: true,
      region: "us-east-1",
      credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "bench" },
      endpoint: s3.endpoint,
      verify,
    },
  });
  const url = `${http.url("/model.safetensors")}#sha256=${hex}`;
  const httpTarget = (verify) => ({ url: { url, allowHttp: true, env: {}, verify } });
  const limits = { fileTimeoutMs: 30 * 60_000 };

  /** A plain download of the whole body with fetch, each chunk hashed as it arrives. */
  async function fetchDownload(target) {
    const response = await fetch(target);
    const h = createHash("sha256");
    let bytes = 0;
    for await (const chunk of response.body) {
      h.update(chunk);
      bytes += chunk.length;
    }
    if (h.digest("hex") !== hex || bytes !== SIZE) throw new Error("baseline download mismatch");
  }
  /** The same with node:http. */
  function nodeDownload(target) {
    return new Promise((resolve, reject) => {
      get(target, (response) => {
        const h = createHash("sha256");
        let bytes = 0;
        response.on("data", (chunk) => {
          h.update(chunk);
          bytes += chunk.length;
        });
        response.on("error", reject);
        response.on("end", () =>
          h.digest("hex") === hex && bytes === SIZE ? resolve() : reject(new Error("baseline download mismatch")),
        );
      }).on("error", reject);
    });
  }
  /** Wall-clock and CPU milliseconds of `run` (CPU: the whole process, and the main thread). */
  async function timed(run) {
    const cpu = process.cpuUsage();
    const main = process.threadCpuUsage();
    const t0 = performance.now();
    const result = await run();
    const ms = performance.now() - t0;
    const c = process.cpuUsage(cpu);
    const m = process.threadCpuUsage(main);
    return { ms, cpu: (c.user + c.system) / 1000, main: (m.user + m.system) / 1000, result };
  }

  const wanted = new Set(
    (process.env.MODELGATE_BENCH_SOURCES ?? "https,s3,zip")
      .split(",")
      .map((p) => p.trim().replace(/^http$/, "https"))
      .filter((p) => p !== ""),
  );
  const rounds = Math.max(1, Number(process.env.MODELGATE_BENCH_ROUNDS ?? 2));
  const parts = [
    ["https", "https (stand-in over http://127.0.0.1)", http, httpTarget, http.url("/model.safetensors")],
    ["s3", "s3 (stand-in, path-style)", s3, s3Target, `${s3.endpoint}/models/llama/model.safetensors`],
  ].filter(([key]) => wanted.has(key));
  for (const [, name, server, target, plainUrl] of parts) {
    console.log(`\n${name}: 2 GiB sparse safetensors`);
    const from = server.bytesSent;
    const t0 = performance.now();
    const read = await scan(target("read"), { limits });
    const readBytes = server.bytesSent - from;
    const file = read.files[0];
    console.log(
      `  verify read: ${readBytes} bytes transferred = ${pct(readBytes, SIZE)} of the file (goal < 0.1%), ` +
        `${server.log.length} requests so far, ${secs(performance.now() - t0)}; verdict ${file?.verdict}, integrity ${file?.integrity?.status}`,
    );
    if (!(readBytes / SIZE < 0.001)) process.exitCode = 1;
    await fetchDownload(plainUrl); // untimed: the sparse file's pages
    const best = { full: null, fetch: null, node: null };
    const keep = (key, t) => {
      if (best[key] === null || t.ms < best[key].ms) best[key] = t;
    };
    let fullBytes = 0;
    let fullRequests = 0;
    let full;
    const tries = [];
    for (let round = 0; round < rounds; round++) {
      const verify = async () => {
        const bytes = server.bytesSent;
        const requests = server.log.length;
        const t = await timed(() => scan(target("full"), { limits }));
        fullBytes = server.bytesSent - bytes;
        fullRequests = server.log.length - requests;
        full = t.result;
        return t;
      };
      const steps = [
        ["fetch", () => timed(() => fetchDownload(plainUrl))],
        ["node", () => timed(() => nodeDownload(plainUrl))],
        ["full", verify],
      ];
      if (round % 2 === 1) steps.reverse();
      const t = {};
      for (const [key, step] of steps) {
        t[key] = await step();
        keep(key, t[key]);
      }
      const base = Math.min(t.fetch.ms, t.node.ms);
      tries.push(
        `${secs(t.full.ms)} / ${secs(t.fetch.ms)} fetch, ${secs(t.node.ms)} node:http (${(t.full.ms / base).toFixed(2)}x; ` +
          `cpu ${(t.full.cpu / Math.min(t.fetch.cpu, t.node.cpu)).toFixed(2)}x, main thread ${(t.full.main / Math.min(t.fetch.main, t.node.main)).toFixed(2)}x)`,
      );
    }
    const base = best.fetch.ms <= best.node.ms ? best.fetch : best.node;
    const baseName = base === best.fetch ? "fetch" : "node:http";
    console.log(
      `  verify full: ${secs(best.full.ms)}, ${pct(fullBytes, SIZE)} of the bytes in ${fullRequests} requests, integrity ${full.files[0]?.integrity?.status}; ` +
        `plain download + SHA-256: ${secs(best.fetch.ms)} with fetch, ${secs(best.node.ms)} with node:http; ` +
        `ratio ${(best.full.ms / base.ms).toFixed(2)}x the faster (${baseName}), ${(best.full.ms / best.fetch.ms).toFixed(2)}x fetch (best of ${rounds} rounds)`,
    );
    console.log(`  per round, verify full / downloads: ${tries.join("; ")}`);
    if (full.files[0]?.integrity?.status !== "verified") process.exitCode = 1;
  }

  // The 500 MiB torch zip, read (not fully verified): what a scan transfers.
  if (wanted.has("zip"))
    console.log(`\n500 MiB PyTorch zip (${zip.content.size} bytes: data.pkl, data/0 stored, version, byteorder)`);
  for (const [name, server, target] of !wanted.has("zip")
    ? []
    : [
        [
          "https",
          http,
          {
            url: {
              url: `${http.url("/pytorch_model.bin")}#sha256=${zip.sha256.toString("hex")}`,
              allowHttp: true,
              env: {},
            },
          },
        ],
        ["s3", s3, { s3: { ...s3Target("read").s3, prefix: "torch/" } }],
      ]) {
    const from = server.bytesSent;
    const requests = server.log.length;
    const t0 = performance.now();
    const report = await scan(target, { limits });
    const bytes = server.bytesSent - from;
    const file = report.files[0];
    console.log(
      `  ${name}: ${bytes} bytes transferred / ${zip.content.size} = ${pct(bytes, zip.content.size)} in ` +
        `${server.log.length - requests} requests, ${secs(performance.now() - t0)}; format ${file?.format}, verdict ${file?.verdict}, ` +
        `integrity ${file?.integrity?.status ?? "none"}, members ${JSON.stringify(file?.members?.map((m) => `${m.path}:${m.format}`) ?? [])}, facts ${JSON.stringify(file?.facts ?? {}).slice(0, 160)}`,
    );
    if (!(bytes / zip.content.size < 0.001)) process.exitCode = 1;
  }
  await http.close();
  await s3.close();
  await handle.close();
} finally {
  await rm(dir, { recursive: true, force: true });
}
