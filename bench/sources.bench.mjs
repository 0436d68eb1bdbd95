#!/usr/bin/env node
// https:// and s3:// sources against the loopback stand-ins (test/helpers/http-standin.ts and
// s3-standin.ts, loaded with Node's type stripping). No network beyond 127.0.0.1.
// A 2 GiB sparse safetensors file (header + a hole, made like `truncate -s 2G`) is served by both:
//  1. a scan without full verification: bytes transferred / file size (goal < 0.1 %);
//  2. a fully verified scan (`verify: "full"`, pinned SHA-256) against a plain download + SHA-256
//     measured in the same run (ratio of wall-clock times).
// MODELGATE_BENCH_DIST points at another build of the library (default ../dist/index.js).
import { createHash } from "node:crypto";
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { HttpStandin } from "../test/helpers/http-standin.ts";
import { S3Standin } from "../test/helpers/s3-standin.ts";

const dist = process.env.MODELGATE_BENCH_DIST ?? new URL("../dist/index.js", import.meta.url).href;
const { scan } = await import(dist.startsWith("file:") ? dist : pathToFileURL(dist).href);

const MiB = 1 << 20;
const SIZE = 2 * 1024 * MiB;
const pct = (a, b) => `${((100 * a) / b).toFixed(4)}%`;
const secs = (ms) => `${(ms / 1000).toFixed(1)} s`;

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

  const http = await HttpStandin.start({ "/model.safetensors": { content, etag: '"sparse-2g"' } });
  const s3 = await S3Standin.start("models", {
    "llama/model.safetensors": { content: { ...content, sha256Base64: digest.toString("base64") } },
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

  /** A plain download of the whole body + SHA-256, the baseline of a full verification. */
  async function download(target, init) {
    const t0 = performance.now();
    const response = await fetch(target, init);
    const h = createHash("sha256");
    let bytes = 0;
    for await (const chunk of response.body) {
      h.update(chunk);
      bytes += chunk.length;
    }
    if (h.digest("hex") !== hex || bytes !== SIZE) throw new Error("baseline download mismatch");
    return performance.now() - t0;
  }

  for (const [name, server, target, baseline] of [
    ["https (stand-in over http://127.0.0.1)", http, httpTarget, () => download(http.url("/model.safetensors"))],
    ["s3 (stand-in, path-style)", s3, s3Target, () => download(`${s3.endpoint}/models/llama/model.safetensors`)],
  ]) {
    console.log(`\n${name}: 2 GiB sparse safetensors`);
    let from = server.bytesSent;
    let t0 = performance.now();
    const read = await scan(target("read"), { limits });
    const readBytes = server.bytesSent - from;
    const file = read.files[0];
    console.log(
      `  verify read: ${readBytes} bytes transferred = ${pct(readBytes, SIZE)} of the file (goal < 0.1%), ` +
        `${server.log.length} requests so far, ${secs(performance.now() - t0)}; verdict ${file?.verdict}, integrity ${file?.integrity?.status}`,
    );
    if (!(readBytes / SIZE < 0.001)) process.exitCode = 1;
    from = server.bytesSent;
    t0 = performance.now();
    const full = await scan(target("full"), { limits });
    const fullMs = performance.now() - t0;
    const fullBytes = server.bytesSent - from;
    const base = await baseline();
    console.log(
      `  verify full: ${secs(fullMs)}, ${pct(fullBytes, SIZE)} of the bytes, integrity ${full.files[0]?.integrity?.status}; ` +
        `plain download + SHA-256: ${secs(base)}; ratio ${(fullMs / base).toFixed(2)}x`,
    );
    if (full.files[0]?.integrity?.status !== "verified") process.exitCode = 1;
  }
  await http.close();
  await s3.close();
  await handle.close();
} finally {
  await rm(dir, { recursive: true, force: true });
}
