/**
 * ONNX external data files: kept as tensor data only when a model beside them references them,
 * bounds-checked and inventoried; any other candidate stays unknown content.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { detectExternalData, isExternalDataName } from "../../../src/formats/onnx/data-detect.js";
import type { FileReport, ScanReport } from "../../../src/report/schema.js";
import { scan } from "../../../src/scan/engine.js";
import { buildTar } from "../../containers/tar-builder.js";
import { SAMPLES, scanOne, scanSample } from "../../helpers/scan.js";

const fileOf = (report: ScanReport, path: string): FileReport => {
  const file = report.files.find((f) => f.path === path);
  if (file === undefined) throw new Error(`${path} not in ${report.files.map((f) => f.path).join(", ")}`);
  return file;
};
const rules = (file: FileReport) => file.findings.map((f) => f.ruleId);

describe("external data names", () => {
  it("takes the names ONNX tools write, and no others", () => {
    for (const name of [
      "model.onnx.data",
      "model.onnx_data",
      "dir/Model.ONNX.data",
      "weights.data",
      "a.weight",
      "fc1.bias",
      "6f1c9a2e-1d2b-11ef-8a3c-0242ac120002",
      "onnx__MatMul_12",
    ])
      expect(isExternalDataName(name), name).toBe(true);
    for (const name of ["model.onnx", "weights.bin", "README", "pickle", "storages", "data.pkl", "x.npy", "", "a/"])
      expect(isExternalDataName(name), name).toBe(false);
  });

  it("detects a candidate by name (written or chosen), never an empty file", () => {
    const bytes = new Uint8Array(8);
    expect(detectExternalData({ head: bytes, tail: bytes, size: 8, name: "m.onnx.data" })?.format).toBe(
      "onnx-external-data",
    );
    expect(detectExternalData({ head: bytes, tail: bytes, size: 0, name: "m.onnx.data" })).toBeUndefined();
    expect(detectExternalData({ head: bytes, tail: bytes, size: 8, name: "m.unknown" })).toBeUndefined();
    // the model chooses the location: a name without extension is a candidate (samples/onnx-external-names)
    expect(detectExternalData({ head: bytes, tail: bytes, size: 8, name: "weights" })?.format).toBe(
      "onnx-external-data",
    );
    expect(detectExternalData({ head: bytes, tail: bytes, size: 8, name: "m.pkl" })).toBeUndefined();
  });
});

describe("samples written by onnx.save_model(save_as_external_data=True)", () => {
  it("one file beside the model: tensor data, inventoried, no format/unknown", async () => {
    const report = await scanSample("onnx/clean/external_data");
    const data = fileOf(report, "model.onnx.data");
    expect(data.format).toBe("onnx-external-data");
    expect(data.verdict).toBe("clean");
    expect(data.facts).toMatchObject({
      "onnx.externalDataOf": ["model.onnx"],
      tensorCount: 4,
      "onnx.externalDataBytes": readFileSync(join(SAMPLES, "onnx/clean/external_data/model.onnx.data")).length,
    });
    expect(rules(data)).toEqual([]);
  });

  it("one file per tensor, a UUID name, a folder below the model (a .bin)", async () => {
    const perTensor = await scanSample("onnx/external/per_tensor");
    for (const [name, bytes] of [
      ["a.weight", 512],
      ["a.bias", 32],
      ["b.weight", 128],
      ["b.bias", 16],
    ] as const) {
      const file = fileOf(perTensor, name);
      expect(file.format, name).toBe("onnx-external-data");
      expect(file.facts, name).toMatchObject({ tensorCount: 1, "onnx.externalDataBytes": bytes });
    }
    const uuid = await scanSample("onnx/external/uuid_name");
    expect(fileOf(uuid, "6f1c9a2e-1d2b-11ef-8a3c-0242ac120002").format).toBe("onnx-external-data");
    const sub = await scanSample("onnx/external/subdir");
    const bin = fileOf(sub, "weights/model.bin");
    expect(bin.format).toBe("onnx-external-data");
    expect(bin.facts).toMatchObject({ "onnx.externalDataOf": ["model.onnx"], tensorCount: 4 });
    expect(rules(bin)).toEqual([]);
  });

  it("a reference past the end is reported on the data file too, and not inventoried", async () => {
    const report = await scanSample("onnx/external/past_end");
    expect(rules(fileOf(report, "model.onnx"))).toContain("onnx/external-data-out-of-bounds");
    const data = fileOf(report, "model.onnx.data");
    expect(data.format).toBe("onnx-external-data");
    expect(data.verdict).toBe("suspicious");
    const finding = data.findings.find((f) => f.ruleId === "onnx/external-data-out-of-bounds");
    expect(finding?.evidence).toMatchObject({ model: "model.onnx", tensor: "b.bias", fileSize: 688 });
    expect(data.facts).toMatchObject({ tensorCount: 3 });
  });

  it("a traversing location is the model's finding and vouches for nothing", async () => {
    const report = await scanSample("onnx/external/traversal");
    expect(report.verdict).toBe("malicious");
    const model = fileOf(report, "model.onnx");
    expect(model.findings.find((f) => f.ruleId === "onnx/external-data-traversal")?.evidence).toMatchObject({
      location: "../../etc/passwd",
      tensor: "a.bias",
    });
    // the other three tensors still reference the data file
    const data = fileOf(report, "model.onnx.data");
    expect(data.format).toBe("onnx-external-data");
    expect(data.facts).toMatchObject({ tensorCount: 3 });
  });

  it("a file no model references stays unknown", async () => {
    const report = await scanSample("onnx/external/unreferenced");
    const stray = fileOf(report, "stray.data");
    expect(stray.format).toBe("unknown");
    expect(rules(stray)).toContain("format/unknown");
    expect(stray.facts?.["onnx.externalDataOf"]).toBeUndefined();
  });
});

describe("what does not vouch for a data file", () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const copyOf = (sample: string) => {
    const dir = mkdtempSync(join(tmpdir(), "mg-onnx-data-"));
    dirs.push(dir);
    for (const name of ["model.onnx", "model.onnx.data"]) copyFileSync(join(SAMPLES, sample, name), join(dir, name));
    return dir;
  };

  it("a model that does not parse", async () => {
    const dir = copyOf("onnx/clean/external_data");
    const model = readFileSync(join(dir, "model.onnx"));
    writeFileSync(join(dir, "model.onnx"), model.subarray(0, model.length - 40));
    const report = await scan(dir);
    expect(fileOf(report, "model.onnx.data").format).toBe("unknown");
  });

  it("a model in a folder below the data (locations never climb)", async () => {
    const dir = copyOf("onnx/clean/external_data");
    mkdirSync(join(dir, "sub"));
    copyFileSync(join(dir, "model.onnx"), join(dir, "sub", "model.onnx"));
    rmSync(join(dir, "model.onnx"));
    const report = await scan(dir);
    expect(fileOf(report, "model.onnx.data").format).toBe("unknown");
    expect(rules(fileOf(report, "sub/model.onnx"))).toContain("onnx/external-data-missing");
  });

  it("the data file scanned alone, or as an archive member", async () => {
    const alone = await scan(join(SAMPLES, "onnx/clean/external_data/model.onnx.data"));
    expect(alone.files[0]?.format).toBe("unknown");
    const tar = buildTar(
      ["model.onnx", "model.onnx.data"].map((name) => ({
        name,
        data: readFileSync(join(SAMPLES, "onnx/clean/external_data", name)),
      })),
    );
    const file = await scanOne(tar, "bundle.tar");
    expect(file.findings.some((f) => f.ruleId === "format/unknown" && f.path?.endsWith("model.onnx.data"))).toBe(true);
  });
});

describe("a model read cut short by the data file's deadline", () => {
  it("is not remembered: the next data file of the scan reads the model again", async () => {
    const { onnxExternalDataAnalyzer } = await import("../../../src/formats/onnx/external-data.js");
    const { BufferSource } = await import("../../../src/core/byte-source.js");
    const dir = join(SAMPLES, "onnx/clean/external_data");
    const model = new Uint8Array(readFileSync(join(dir, "model.onnx")));
    const data = new Uint8Array(readFileSync(join(dir, "model.onnx.data")));
    let opens = 0;
    const target = {};
    // the first open of the model outlives the first data file's deadline; later ones succeed
    const root = {
      target,
      localDir: undefined,
      open: async (path: string, options: { signal?: AbortSignal }) => {
        if (path !== "model.onnx") throw new Error(`no ${path}`);
        opens++;
        if (opens === 1) {
          await new Promise<void>((resolve) => options.signal?.addEventListener("abort", () => resolve()));
          throw new Error("aborted");
        }
        return new BufferSource(model);
      },
    };
    const run = async (signal: AbortSignal) => {
      const seen = { format: "", facts: new Map<string, unknown>() };
      const ctx = {
        detection: { format: "onnx-external-data" },
        depth: 0,
        path: "model.onnx.data",
        root,
        signal,
        source: new BufferSource(data),
        checkpoint: () => undefined,
        refineFormat: (f: string) => {
          seen.format = f;
        },
        report: () => undefined,
        fact: (k: string, v: unknown) => seen.facts.set(k, v),
      };
      await onnxExternalDataAnalyzer.analyze(ctx as never);
      return seen;
    };
    const first = new AbortController();
    setTimeout(() => first.abort(new Error("deadline")), 20);
    expect((await run(first.signal)).format).toBe("unknown");
    const second = await run(new AbortController().signal);
    expect(opens).toBe(2);
    expect(second.format).toBe("onnx-external-data");
    expect(second.facts.get("tensorCount")).toBe(4);
  });
});
