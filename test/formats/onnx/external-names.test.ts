/**
 * ONNX external data under a name the model chose (`location: "model.bin"`, `"weights"`): a file a
 * model beside it references is tensor data whatever pickle opcode its first byte happens to be,
 * while a real pickle under such a name (or a name a loader unpickles) is still read as a pickle.
 * Samples: samples/onnx-external-names/ (samples/generate/onnx_external_names.py, written by onnx).
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { claimsPickle, detectExternalData, isChosenDataName } from "../../../src/formats/onnx/data-detect.js";
import { PICKLE_EXTENSIONS } from "../../../src/formats/pickle/claim-names.js";
import { CLAIM_EXTENSIONS } from "../../../src/registry/catalog.js";
import { claimForName } from "../../../src/registry/claims.js";
import type { FileReport, ScanReport } from "../../../src/report/schema.js";
import { scan } from "../../../src/scan/engine.js";
import { SAMPLES, scanSample } from "../../helpers/scan.js";

const fileOf = (report: ScanReport, path: string): FileReport => {
  const file = report.files.find((f) => f.path === path);
  if (file === undefined) throw new Error(`${path} not in ${report.files.map((f) => f.path).join(", ")}`);
  return file;
};
const rules = (file: FileReport) => [...new Set(file.findings.map((f) => f.ruleId))].sort();

describe("samples/onnx-external-names", () => {
  it.each([
    ["bin-opcode", "model.bin"],
    ["no-extension", "weights"],
    ["subdir", "params/weights.raw.bin"],
  ])("%s: %s opens with a pickle opcode and is the model's tensor data", async (dir, data) => {
    const report = await scanSample(`onnx-external-names/${dir}`);
    const file = fileOf(report, data);
    expect(file.format).toBe("onnx-external-data");
    expect(file.verdict).toBe("clean");
    expect(rules(file)).toEqual([]);
    expect(file.facts).toMatchObject({ "onnx.externalDataOf": ["model.onnx"], tensorCount: 1 });
  });

  it.each([
    ["bin-real-pickle", "model.bin"],
    ["no-extension-real-pickle", "weights"],
    ["pkl-real-pickle", "weights.pkl"],
  ])("%s: a real pickle the model also references is still read as a pickle", async (dir, data) => {
    const file = fileOf(await scanSample(`onnx-external-names/${dir}`), data);
    expect(file.format).toBe("pickle");
    expect(file.verdict).toBe("malicious");
    expect(rules(file)).toContain("pickle/dangerous-global");
  });

  it("a stray file no model references stays unknown content", async () => {
    const file = fileOf(await scanSample("onnx-external-names/orphan"), "orphan.bin");
    expect(file.format).toBe("unknown");
    expect(rules(file)).toContain("format/unknown");
  });
});

describe("any first byte of referenced tensor data under a chosen name", () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const model = join(SAMPLES, "onnx-external-names", "no-extension", "model.onnx");
  const size = readFileSync(join(SAMPLES, "onnx-external-names", "no-extension", "weights")).length;

  /** A folder with the sample model (location "weights") and a weights file opening with `first`. */
  function folder(first: Uint8Array): string {
    const dir = mkdtempSync(join(tmpdir(), "mg-onnx-names-"));
    dirs.push(dir);
    copyFileSync(model, join(dir, "model.onnx"));
    const bytes = new Uint8Array(size).fill(0x3f);
    bytes.set(first);
    writeFileSync(join(dir, "weights"), bytes);
    return dir;
  }

  it("is tensor data for every opening byte but PROTO 2-5", async () => {
    // every byte value a pickle may open with, and a few that open nothing
    const openings = [..."(}])NIJKLMFGSTUVXBCcighjP.q".split("").map((c) => c.charCodeAt(0))];
    openings.push(0x00, 0x80, 0x82, 0x88, 0x8c, 0x8f, 0x95, 0x97, 0xff);
    for (const b of openings) {
      const report = await scan(folder(Uint8Array.of(b, 0x00)));
      const data = fileOf(report, "weights");
      expect(data.format, `first byte 0x${b.toString(16)}`).toBe("onnx-external-data");
      expect(data.verdict, `first byte 0x${b.toString(16)}`).toBe("clean");
    }
  });

  it("still reports what a speculative pickle reading finds before the break", async () => {
    // GLOBAL posix system, then garbage: pickle.load imports os.system before it raises
    const opening = new TextEncoder().encode("cposix\nsystem\n\xff\xff");
    const report = await scan(folder(opening));
    const data = fileOf(report, "weights");
    expect(data.verdict).toBe("malicious");
    expect(rules(data)).toContain("pickle/dangerous-global");
  });
});

describe("which names are candidates", () => {
  const bytes = new Uint8Array(16);
  it("never a name a loader unpickles: the claims' own table decides", () => {
    // every name the table claims, in the forms loaders meet them, and names it does not claim
    const names = [
      ...[...PICKLE_EXTENSIONS.keys()].flatMap((ext) => [`w.${ext}`, `a/B.${ext.toUpperCase()}`, `x.${ext}.tar`]),
      ...[...CLAIM_EXTENSIONS.keys()].map((ext) => `m.${ext}`),
      ...[
        "pytorch_model",
        "adapter_model",
        "diffusion_pytorch_model",
        "optimizer",
        "rng_state_3",
        "training_args",
      ].flatMap((stem) => [`${stem}.bin`, `${stem}-00001-of-00002.bin`, `${stem}.fp16.bin`, `dir/${stem}.bin`]),
      ...["ck.pth.tar", "ck.pt.tar", "pickle", "storages", "tensors", "sys_info", "storages#4"],
      ...[
        "model.bin",
        "weights",
        "w.data",
        "params/x.raw.bin",
        "model_weights",
        "tensor.dat",
        "README",
        "model.onnx_data",
      ],
    ];
    for (const name of names) {
      const claimed = claimForName(name)?.pickle === true;
      expect(claimsPickle(name), name).toBe(claimed);
      const tarMember = claimForName(name, "tar")?.pickle === true;
      const detected = detectExternalData({ head: bytes, tail: bytes, size: 16, name });
      if (claimed || tarMember) expect(detected, name).toBeUndefined();
    }
    // names the model may choose stay candidates
    for (const name of ["model.bin", "weights", "w.data", "params/x.raw.bin", "model_weights", "tensor.dat", "README"])
      expect(detectExternalData({ head: bytes, tail: bytes, size: 16, name })?.format, name).toBe("onnx-external-data");
  });

  it("a chosen name is one without extension or a .bin; never one a format claims", () => {
    for (const name of ["weights", "dir/model_weights", "model.bin", "a/b.BIN"])
      expect(isChosenDataName(name), name).toBe(true);
    for (const name of ["blob.xyz", ".DS_Store", "w.params", "model.onnx", ""])
      expect(isChosenDataName(name), name).toBe(false);
    expect(CLAIM_EXTENSIONS.size).toBeGreaterThan(20);
    for (const ext of CLAIM_EXTENSIONS.keys()) {
      const name = `weights.${ext}`;
      expect(detectExternalData({ head: bytes, tail: bytes, size: 16, name }), name).toBeUndefined();
    }
  });

  it("never bytes opening with PROTO 2-5 (a pickle claimed by content)", () => {
    for (const proto of [2, 3, 4, 5]) {
      const head = Uint8Array.of(0x80, proto, 0);
      expect(detectExternalData({ head, tail: head, size: 3, name: "weights" })).toBeUndefined();
    }
    const head = Uint8Array.of(0x80, 0x00, 0);
    expect(detectExternalData({ head, tail: head, size: 3, name: "weights" })?.format).toBe("onnx-external-data");
  });
});

describe("formats found past byte 0 keep the file", () => {
  it("a zip end record or an HDF5 superblock after a user block: no candidate under a chosen name", () => {
    const zip = new Uint8Array(40);
    zip.set([0x50, 0x4b, 0x05, 0x06], 18); // an empty zip's end record, ending the file
    expect(detectExternalData({ head: zip, tail: zip, size: zip.length, name: "blob" })).toBeUndefined();
    const hdf5 = new Uint8Array(600);
    hdf5.set([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a], 512);
    expect(detectExternalData({ head: hdf5, tail: hdf5, size: hdf5.length, name: "blob" })).toBeUndefined();
    // names ONNX tools write keep their candidacy, as before
    expect(detectExternalData({ head: zip, tail: zip, size: zip.length, name: "m.onnx.data" })?.format).toBe(
      "onnx-external-data",
    );
  });

  it("an unrecognised file ending in a zip is a zip, not a polyglot with tensor data", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mg-onnx-names-"));
    try {
      const zip = new Uint8Array(40).fill(0x07);
      zip.set([0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 18);
      writeFileSync(join(dir, "blob"), zip);
      const file = fileOf(await scan(dir), "blob");
      expect(rules(file)).not.toContain("format/polyglot");
      expect(file.formats).not.toContain("onnx-external-data");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("a folder without the model", () => {
  it("leaves a chosen-name file unknown", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mg-onnx-names-"));
    try {
      mkdirSync(join(dir, "sub"));
      writeFileSync(join(dir, "sub", "weights"), Uint8Array.of(0x80, 0x00, 1, 2, 3, 4, 5, 6));
      const file = fileOf(await scan(dir), "sub/weights");
      expect(file.format).toBe("unknown");
      expect(rules(file)).toContain("format/unknown");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
