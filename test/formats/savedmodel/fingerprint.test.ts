/**
 * TensorFlow (2.11 and later) writes `fingerprint.pb` beside `saved_model.pb`: a `FingerprintDef`
 * (five uint64 hashes, fields 1–5, and a `VersionDef`, field 6). Its first field is a varint field
 * 1, so the protobuf detector took it for an ONNX `ModelProto` and reported `onnx/malformed`: every
 * modern SavedModel was `invalid` (attack review). It is recognised as the SavedModel's inert
 * fingerprint when it parses strictly as one; anything more (a graph, a producer string) is not.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { detectFingerprint } from "../../../src/formats/savedmodel/index.js";
import { ruleIds, SAMPLES, scanOne, scanSample } from "../../helpers/scan.js";

const SAMPLE = "tf-onnx-bypass/tf2_clean_with_fingerprint";
const fingerprint = new Uint8Array(readFileSync(join(SAMPLES, SAMPLE, "fingerprint.pb")));
const sniff = (bytes: Uint8Array, name: string) =>
  detectFingerprint({ head: bytes, tail: bytes, size: bytes.length, name });

describe("fingerprint.pb", () => {
  it("a real TF 2.21 SavedModel directory is clean", async () => {
    const report = await scanSample(SAMPLE);
    const file = report.files.find((f) => f.path === "fingerprint.pb");
    expect(file?.format).toBe("protobuf");
    expect(file?.findings).toEqual([]);
    expect(report.verdict).toBe("clean");
  });

  it("alone, it is inert protobuf, not ONNX", async () => {
    const file = await scanOne(fingerprint, "fingerprint.pb");
    expect(file.format).toBe("protobuf");
    expect(ruleIds(file)).toEqual([]);
    expect(file.verdict).toBe("clean");
  });

  it("is recognised only when it parses strictly as a FingerprintDef under its name", () => {
    expect(sniff(fingerprint, "export/1/fingerprint.pb")?.format).toBe("protobuf");
    expect(sniff(fingerprint, "model.onnx")).toBeUndefined();
    // truncated
    expect(sniff(fingerprint.subarray(0, fingerprint.length - 3), "fingerprint.pb")).toBeUndefined();
    // an ONNX graph (field 7) holding a node appended
    expect(sniff(Uint8Array.of(...fingerprint, 0x3a, 0x02, 0x0a, 0x00), "fingerprint.pb")).toBeUndefined();
    // an opset import (field 8)
    expect(sniff(Uint8Array.of(...fingerprint, 0x42, 0x00), "fingerprint.pb")).toBeUndefined();
    // a producer name (field 2, length-delimited) in place of graph_def_program_hash
    expect(sniff(Uint8Array.of(0x08, 0x07, 0x12, 0x01, 0x41), "fingerprint.pb")).toBeUndefined();
  });

  it("an ONNX model named fingerprint.pb is still read as ONNX", async () => {
    const onnx = new Uint8Array(readFileSync(join(SAMPLES, "onnx", "pyop_contrib.onnx")));
    const file = await scanOne(onnx, "fingerprint.pb");
    expect(file.format).toBe("onnx");
    expect(file.verdict).not.toBe("clean");
  });
});
