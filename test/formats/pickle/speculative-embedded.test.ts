/**
 * Payloads a pickle hands to a loader (`torch.storage._load_from_bytes(<zip>)`) found on a second
 * or speculative reading of the bytes are scanned like those of the main reading: the reading from
 * a file object without peek (io.BytesIO), beside/weak readings that break or parse whole, ONNX
 * external data under a chosen name that is also a pickle, and legacy torch files whose FRAME runs
 * over a pickle boundary. Samples: samples/speculative-embedded (samples/generate/speculative_embedded.py).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { claimsPickle, detectExternalData } from "../../../src/formats/onnx/data-detect.js";
import { analyzePickleStream } from "../../../src/formats/pickle/analyze.js";
import { SourceInput } from "../../../src/formats/pickle/input.js";
import { claimForName } from "../../../src/registry/claims.js";
import type { FileReport, ScanReport } from "../../../src/report/schema.js";
import { BufferSource } from "../../../src/sources/byte-source.js";
import { SAMPLES, scanOne, scanSample } from "../../helpers/scan.js";

const DIR = "speculative-embedded";
const sample = (name: string) => new Uint8Array(readFileSync(join(SAMPLES, DIR, name)));
/** The torch.save zip whose data.pkl calls os.system. */
const ZIP = sample("loadbytes-zip.pt");
const latin1 = (s: string) => new Uint8Array(Buffer.from(s, "latin1"));
const u32 = (n: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
};
const cat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));
/** `torch.storage._load_from_bytes(inner)` up to REDUCE (no STOP). */
const loadFromBytes = (inner: Uint8Array) =>
  cat(latin1("ctorch.storage\n_load_from_bytes\nB"), u32(inner.length), inner, latin1("\x85R"));
const osSystem = (f: FileReport | ScanReport) =>
  ("files" in f ? f.files.flatMap((x) => x.findings) : f.findings).some(
    (x) => x.ruleId === "pickle/dangerous-global" && x.evidence?.callee === "posix.system",
  );

describe("A: the reading from a file object without peek keeps its embedded payloads", () => {
  it("scans the zip a legacy file nested in _load_from_bytes hands over on that reading", async () => {
    const file = await scanOne(sample("nested-legacy-loadbytes.pkl"), "x.pkl");
    expect(file.verdict).toBe("malicious");
    expect(osSystem(file)).toBe(true);
    const claim = file.findings.find(
      (f) => f.ruleId === "pickle/nested-payload" && f.message.includes("analysed as an embedded member"),
    );
    expect(claim?.evidence?.reading).toBe("io.BytesIO");
  });

  it("an analysis says a payload is analysed only with the payload (the claim travels with it)", async () => {
    const analysis = await analyzePickleStream(new SourceInput(new BufferSource(sample("legacy-frame-boundary.pt"))), {
      context: "pytorch",
      maxPickles: 5,
      ignoreTrailing: true,
    });
    expect(analysis.findings.some((f) => f.message.includes("embedded member"))).toBe(false);
    const zip = analysis.embedded.find((e) => e.source.size === ZIP.length);
    expect(zip?.finding.message).toContain("analysed as an embedded member");
    expect(zip?.finding.evidence?.reading).toBe("io.BytesIO");
  });
});

describe("B: speculative readings scan what they hand to loaders", () => {
  it("a weak reading that breaks after the call", async () => {
    const file = await scanOne(cat(loadFromBytes(ZIP), latin1("\xff\xff")), "blob.xyz");
    expect(file.verdict).toBe("malicious");
    expect(osSystem(file)).toBe(true);
  });

  it("a beside reading (opaque data after a legacy file's storages)", async () => {
    const legacy = new Uint8Array(readFileSync(join(SAMPLES, "pickle", "torch", "checkpoint_legacy.pt")));
    const report = await scanOne(cat(legacy, latin1("\x80\x02"), loadFromBytes(ZIP), latin1(".")), "ck.pt");
    expect(report.verdict).toBe("malicious");
    expect(osSystem(report)).toBe(true);
  });

  it("ONNX external data under a chosen name whose bytes are a pickle", async () => {
    for (const dir of ["onnx-chosen-bin", "onnx-adapter"]) {
      const report = await scanSample(`${DIR}/${dir}`);
      expect(report.verdict, dir).toBe("malicious");
      expect(osSystem(report), dir).toBe(true);
    }
    const benign = await scanSample(`${DIR}/onnx-chosen-bin-benign`);
    expect(benign.verdict).toBe("clean");
    expect(benign.files.find((f) => f.path === "model.bin")?.format).toBe("onnx-external-data");
  });
});

describe("B2: names torch.load opens keep their pickle claim", () => {
  const names = [
    "adapter_model.bin",
    "diffusion_pytorch_model.bin",
    "diffusion_pytorch_model.fp16.bin",
    "diffusion_pytorch_model-00001-of-00002.bin",
    "pytorch_model.fp16-00001-of-00002.bin",
    "learned_embeds.bin",
    "pytorch_lora_weights.bin",
    "unet/diffusion_pytorch_model.bin",
  ];
  it.each(names)("%s", (name) => {
    expect(claimForName(name)?.pickle).toBe(true);
    expect(claimsPickle(name)).toBe(true);
    const head = latin1("X\x04\x00\x00\x00abcd0");
    expect(detectExternalData({ head, tail: head, size: head.length, name })).toBeUndefined();
  });
  it("other .bin names stay candidates", () => {
    for (const name of ["model.bin", "adapter.bin", "weights.bin"]) expect(claimsPickle(name), name).toBe(false);
  });
});

describe("D: a legacy file whose FRAME runs over a pickle boundary", () => {
  it("is a layout problem, and the reading torch.load(BytesIO) makes is analysed", async () => {
    const file = await scanOne(sample("legacy-frame-boundary.pt"), "legacy.pt");
    expect(file.verdict).toBe("malicious");
    expect(file.findings.some((f) => f.ruleId === "pytorch/legacy-layout" && f.message.includes("FRAME"))).toBe(true);
    expect(
      file.findings.some((f) => f.ruleId === "pickle/nested-payload" && f.evidence?.reading === "io.BytesIO"),
    ).toBe(true);
  });
});
