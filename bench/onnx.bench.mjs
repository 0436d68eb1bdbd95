// ONNX scan memory and speed on a model with large initializers.
//
// Writes a ~512 MB ONNX model (64 initializers of 8 MB, raw_data, plus a small graph) to a temp
// directory, then measures in separate node processes:
//   - modelgate's scan (streaming walker: tensor payloads are skipped, not read), and
//   - the baseline: read the file and decode it with protobufjs's full decoder (the same
//     generated static code modelgate ships), which is what a non-streaming scanner does.
// Prints peak RSS, wall time and bytes read, and their ratios. Size: MODELGATE_BENCH_ONNX_MB.
import { execFileSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "..", "dist");
const role = process.argv[2];

if (role === "scan" || role === "decode") {
  const file = process.argv[3];
  const t0 = performance.now();
  let detail;
  if (role === "scan") {
    const { scan } = await import(join(dist, "index.js"));
    const report = await scan(file, { hash: false });
    const f = report.files[0];
    detail = {
      verdict: f.verdict,
      nodes: f.facts?.["onnx.nodes"],
      initializers: f.facts?.["onnx.initializers"],
      bytesRead: report.summary.bytesRead,
    };
  } else {
    const { readFileSync } = await import("node:fs");
    const { modelgate } = await import(join(dist, "formats", "onnx", "generated", "onnx.js"));
    const model = modelgate.onnx.ModelProto.decode(readFileSync(file));
    detail = {
      nodes: model.graph.node.length,
      initializers: model.graph.initializer.length,
      bytesRead: statSync(file).size,
    };
  }
  const ms = performance.now() - t0;
  process.stdout.write(JSON.stringify({ ms, maxRssKb: process.resourceUsage().maxRSS, ...detail }));
  process.exit(0);
}

const { modelgate } = await import(join(dist, "formats", "onnx", "generated", "onnx.js"));
const pb = modelgate.onnx;
const MB = 1024 * 1024;
const totalMb = Number(process.env.MODELGATE_BENCH_ONNX_MB ?? 512);
const tensors = 64;
const tensorBytes = Math.max(1, Math.floor((totalMb * MB) / tensors / 4)) * 4;

const varint = (n) => {
  const out = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Uint8Array.from(out);
};
const concat = (...parts) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};
const field = (number, payloadLength) => concat(varint((number << 3) | 2), varint(payloadLength));

// Initializer headers (dims, data_type, name) from the generated encoder; raw_data streamed.
const heads = [];
for (let i = 0; i < tensors; i++) {
  const head = pb.TensorProto.encode({ dims: [tensorBytes / 4], data_type: 1, name: `layer${i}.weight` }).finish();
  const raw = field(9, tensorBytes);
  heads.push({ head, raw, length: head.length + raw.length + tensorBytes });
}
const nodes = [];
for (let i = 0; i < tensors; i++) {
  nodes.push(
    pb.NodeProto.encode({
      op_type: i % 2 ? "Relu" : "MatMul",
      name: `n${i}`,
      input: [`x${i}`, `layer${i}.weight`],
      output: [`x${i + 1}`],
    }).finish(),
  );
}
const nodeBytes = nodes.reduce((n, b) => n + field(1, b.length).length + b.length, 0);
const initBytes = heads.reduce((n, h) => n + field(5, h.length).length + h.length, 0);
const graphLength = nodeBytes + initBytes;
const prefix = pb.ModelProto.encode({
  ir_version: 8,
  producer_name: "modelgate-bench",
  opset_import: [{ domain: "", version: 17 }],
}).finish();

const dir = mkdtempSync(join(tmpdir(), "modelgate-onnx-bench-"));
const file = join(dir, "big.onnx");
try {
  const fd = openSync(file, "w");
  const zeros = new Uint8Array(8 * MB);
  writeSync(fd, prefix);
  writeSync(fd, field(7, graphLength));
  for (const n of nodes) writeSync(fd, concat(field(1, n.length), n));
  for (const h of heads) {
    writeSync(fd, concat(field(5, h.length), h.head, h.raw));
    for (let left = tensorBytes; left > 0; left -= zeros.length) {
      writeSync(fd, zeros, 0, Math.min(left, zeros.length));
    }
  }
  closeSync(fd);
  const size = statSync(file).size;

  const run = (which) =>
    JSON.parse(execFileSync(process.execPath, [fileURLToPath(import.meta.url), which, file], { encoding: "utf8" }));
  const scanResult = run("scan");
  const decodeResult = run("decode");
  if (scanResult.nodes !== tensors || scanResult.initializers !== tensors || scanResult.verdict !== "clean") {
    throw new Error(`unexpected scan result ${JSON.stringify(scanResult)}`);
  }
  const mb = (kb) => `${(kb / 1024).toFixed(1)} MB`;
  process.stdout.write(
    [
      `ONNX model: ${(size / MB).toFixed(0)} MB, ${tensors} initializers of ${(tensorBytes / MB).toFixed(1)} MB`,
      `modelgate scan        : ${scanResult.ms.toFixed(0)} ms, peak RSS ${mb(scanResult.maxRssKb)}, read ${(scanResult.bytesRead / 1024).toFixed(0)} KiB`,
      `protobufjs full decode: ${decodeResult.ms.toFixed(0)} ms, peak RSS ${mb(decodeResult.maxRssKb)}, read ${(decodeResult.bytesRead / MB).toFixed(0)} MB`,
      `peak RSS / model size : ${((scanResult.maxRssKb * 1024) / size).toFixed(3)}`,
      `peak RSS vs baseline  : ${(decodeResult.maxRssKb / scanResult.maxRssKb).toFixed(1)}x less memory`,
      `time vs baseline      : ${(decodeResult.ms / scanResult.ms).toFixed(1)}x faster`,
      `bytes read vs size    : ${((scanResult.bytesRead / size) * 100).toFixed(3)} %`,
      "",
    ].join("\n"),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
