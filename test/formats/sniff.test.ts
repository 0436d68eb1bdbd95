import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { looksLikePickle } from "../../src/formats/pickle/sniff.js";
import { expectedFormatsForName, sniff } from "../../src/registry/catalog.js";
import { FORMATS } from "../../src/report/schema.js";
import { SAMPLES } from "../helpers/scan.js";

const bytes = (...parts: Array<string | number[]>): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === "string" ? [...p].map((c) => c.charCodeAt(0)) : p)));

const detect = (head: Uint8Array, name = "x", tail = head) =>
  sniff({ head, tail, size: head.length, name }).map((d) => d.format);

describe("sniff", () => {
  it("recognises binary magics by content, whatever the name", () => {
    expect(detect(bytes([0x93], "NUMPY", [1, 0]), "a.txt")).toEqual(["numpy"]);
    expect(detect(bytes("GGUF", [3, 0, 0, 0]))).toEqual(["gguf"]);
    expect(detect(bytes([0x89], "HDF\r\n\x1a\n"))).toEqual(["hdf5"]);
    expect(detect(bytes([0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c]))).toEqual(["7z"]);
    expect(detect(bytes([0x1f, 0x8b, 0x08, 0]))).toEqual(["gzip"]);
    expect(detect(bytes([0xfd], "7zXZ", [0]))).toEqual(["xz"]);
    expect(detect(bytes([0x28, 0xb5, 0x2f, 0xfd]))).toEqual(["zstd"]);
    expect(detect(bytes("BZh9", [0x31, 0x41, 0x59, 0x26, 0x53, 0x59]))).toEqual(["bz2"]);
    expect(detect(bytes([0x78, 0x9c, 1, 2]))).toEqual(["zlib"]);
    expect(detect(bytes([0x7f], "ELF", [2, 1]))).toEqual(["executable"]);
    expect(detect(bytes("PK", [3, 4], "rest"))).toEqual(["zip"]);
  });

  it("finds a zip behind other content by its end-of-central-directory record (polyglot)", () => {
    const pickle = bytes([0x80, 0x02], "N.");
    const eocd = bytes("PK", [5, 6], new Array(18).fill(0));
    const all = new Uint8Array([...pickle, ...eocd]);
    const found = sniff({ head: all, tail: all, size: all.length, name: "m.pt" });
    expect(found.map((d) => d.format)).toEqual(["pickle", "zip"]);
    expect(found[1]!.offset).toBe(pickle.length);
  });

  it("recognises safetensors headers and rejects implausible ones", () => {
    const json = '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
    const head = new Uint8Array(8 + json.length + 4);
    new DataView(head.buffer).setBigUint64(0, BigInt(json.length), true);
    head.set(bytes(json), 8);
    expect(detect(head)).toEqual(["safetensors"]);
    const bogus = head.slice();
    new DataView(bogus.buffer).setBigUint64(0, 10n ** 12n, true);
    expect(detect(bogus)).not.toContain("safetensors");
    expect(detect(bogus, "model.safetensors")).toEqual(["safetensors"]);
  });

  it("recognises protocol 0 text pickles and binary pickles", () => {
    expect(looksLikePickle(bytes("cos\nsystem\n(S'echo hi'\ntR."), 27)).toBe(0);
    expect(looksLikePickle(bytes([0x80, 4, 0x95, 1, 0, 0, 0, 0, 0, 0, 0], "N."), 13)).toBe(4);
    expect(looksLikePickle(bytes("}q\x00(X\x01\x00\x00\x00aq\x01K\x01u."), 17)).toBe(1);
    expect(detect(bytes("cos\nsystem\n(S'echo hi'\ntR."), "notes.txt")).toEqual(["pickle"]);
  });

  it("does not take ordinary text or code for a pickle", () => {
    expect(detect(bytes("class Foo:\n    pass\n"), "a.py")).toEqual(["python"]);
    expect(detect(bytes("hello world\n"))).toEqual(["text"]);
    expect(detect(bytes('{"architectures": ["Bert"]}'), "config.json")).toEqual(["json"]);
    expect(detect(bytes("{% for m in messages %}{{ m.content }}{% endfor %}"))).toEqual(["jinja"]);
    expect(detect(bytes("#!/bin/sh\nrm -rf /\n"))).toEqual(["shell"]);
  });

  it("recognises Sigstore bundles and notebooks", () => {
    // only a whole bundle of exactly the schema's shape is a signature; a look-alike is JSON (analysed)
    const real = new Uint8Array(readFileSync(join(SAMPLES, "integrity/signed-model/model.sig")));
    expect(detect(real)).toEqual(["oms-signature"]);
    expect(detect(bytes('{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"}'))).toEqual(["json"]);
    expect(detect(bytes('{"cells": [], "nbformat": 4}'), "a.ipynb")).toEqual(["notebook"]);
  });

  it("recognises ONNX-like protobuf", () => {
    // ir_version 8, producer_name "pytorch", graph (field 7) with 2 bytes
    const onnx = bytes([0x08, 0x08, 0x12, 0x07], "pytorch", [0x3a, 0x02, 0x0a, 0x00]);
    expect(detect(onnx, "model.bin")).toEqual(["onnx"]);
  });

  it("extension expectations", () => {
    expect(new Set(expectedFormatsForName("a/b.json"))).toEqual(
      new Set(["json", "notebook", "oms-signature", "xgboost", "mxnet-symbol"]),
    );
    expect(expectedFormatsForName("a/b.safetensors")).toBeUndefined(); // a claim: src/formats/claims.ts
    expect(expectedFormatsForName("pytorch_model.bin")).toBeUndefined();
  });

  it("never throws and only returns known formats, on any bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), fc.string(), (head, name) => {
        const found = sniff({ head, tail: head, size: head.length, name });
        for (const d of found) {
          expect(FORMATS).toContain(d.format);
          expect(d.offset).toBeGreaterThanOrEqual(0);
        }
      }),
      { seed: 42, numRuns: 2000 },
    );
  });
});

describe("sniff: tar", () => {
  const tarHeader = (name: string, breakChecksum = false): Uint8Array => {
    const h = new Uint8Array(1024);
    h.set(bytes(name), 0);
    h.set(bytes("0000644\0"), 100);
    h.set(bytes("00000000001\0"), 124);
    h.set(bytes("ustar\x0000"), 257);
    h[156] = 0x30;
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
    h.set(bytes(`${(breakChecksum ? sum + 1 : sum).toString(8).padStart(6, "0")}\0 `), 148);
    return h;
  };
  it("a tar whose first member is named like a tiny pickle is a tar", () => {
    expect(detect(tarHeader("a.txt"))).toEqual(["tar"]);
    expect(looksLikePickle(bytes("a."), 2)).toBeUndefined();
  });
  it("a tar with a wrong first checksum is still a tar (GNU tar extracts it)", () => {
    expect(detect(tarHeader("model.pkl", true))).toEqual(["tar"]);
  });
});
