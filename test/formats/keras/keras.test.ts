/**
 * The Keras analyzers on their own: each .keras archive's members are read directly and given the
 * analysis the engine runs on them, so a failure here points at the Keras code rather than the zip
 * container (test/samples.test.ts checks the same archives through the whole engine).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { inflateRawSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { kerasMemberAnalyzer } from "../../../src/formats/keras/analyzer.js";
import { analyzeKerasConfig } from "../../../src/formats/keras/config.js";
import { readHdf5RootAttributes } from "../../../src/formats/keras/hdf5.js";
import { getRule } from "../../../src/registry/rules.js";
import { verdictOfFinding, worstVerdict } from "../../../src/report/verdict.js";
import type { AnalysisContext, FindingInput } from "../../../src/scan/types.js";
import { BufferSource } from "../../../src/sources/byte-source.js";
import { FileSource } from "../../../src/sources/file.js";
import { buildZip } from "../../containers/zip-builder.js";
import { ruleIds, SAMPLES, scanOne } from "../../helpers/scan.js";

/** Members of a zip, from its central directory (enough for the archives Python's zipfile writes). */
function unzip(bytes: Uint8Array): Map<string, Uint8Array> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let eocd = bytes.length - 22;
  while (eocd >= 0 && view.getUint32(eocd, true) !== 0x06054b50) eocd--;
  const count = view.getUint16(eocd + 10, true);
  let at = view.getUint32(eocd + 16, true);
  const out = new Map<string, Uint8Array>();
  for (let i = 0; i < count; i++) {
    const method = view.getUint16(at + 10, true);
    const size = view.getUint32(at + 20, true);
    const nameLength = view.getUint16(at + 28, true);
    const skip = nameLength + view.getUint16(at + 30, true) + view.getUint16(at + 32, true);
    const local = view.getUint32(at + 42, true);
    const name = new TextDecoder().decode(bytes.subarray(at + 46, at + 46 + nameLength));
    const dataAt = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    const raw = bytes.subarray(dataAt, dataAt + (method === 0 ? size : view.getUint32(at + 20, true)));
    out.set(name, method === 8 ? inflateRawSync(raw) : raw);
    at += 46 + skip;
  }
  return out;
}

const verdictOf = (findings: FindingInput[]) =>
  worstVerdict(
    ...findings.map((f) => {
      const rule = getRule(f.ruleId);
      return verdictOfFinding(f.severity ?? rule?.severity ?? "info", rule?.invalidates === true);
    }),
  );

function fakeContext(name: string, format: "python" | "shell", lineage: AnalysisContext["lineage"]) {
  const reports: FindingInput[] = [];
  const ctx = {
    name,
    path: `x.keras!${name}`,
    lineage,
    detection: { format, offset: 0, reason: "test" },
    report: (f: FindingInput) => reports.push(f),
  } as unknown as AnalysisContext;
  return { ctx, reports };
}

const pending = Object.fromEntries(
  Object.entries(
    JSON.parse(readFileSync(join(SAMPLES, "keras/expected.json"), "utf8")) as Record<
      string,
      { verdict: string; rules?: string[]; evidence?: Record<string, unknown> }
    >,
  ).filter(([path]) => path.endsWith(".keras")),
);

describe.each(Object.entries(pending))("%s (members analysed directly)", (path, want) => {
  it(`is ${want.verdict} with ${(want.rules ?? []).join(", ") || "no rules"}`, async () => {
    const members = unzip(readFileSync(join(SAMPLES, path)));
    expect(members.has("config.json")).toBe(true);
    const result = analyzeKerasConfig(JSON.parse(new TextDecoder().decode(members.get("config.json"))), "config.json");
    const findings = [...result.findings];
    for (const name of members.keys()) {
      if (name.endsWith(".py")) {
        const { ctx, reports } = fakeContext(name, "python", ["keras"]);
        await kerasMemberAnalyzer.analyze(ctx);
        findings.push(...reports);
      }
    }
    for (const rule of want.rules ?? []) expect(findings.map((f) => f.ruleId)).toContain(rule);
    expect(verdictOf(findings)).toBe(want.verdict);
    if (path.includes("torch_module_wrapper")) {
      // the pickled module is handed over for scanning as a member: torch.save's zip
      expect(result.payloads).toHaveLength(1);
      expect([...(result.payloads[0]?.bytes.subarray(0, 2) ?? [])]).toEqual([0x50, 0x4b]);
    }
    // the weights file of every archive is a real HDF5 file the reader accepts
    const weights = members.get("model.weights.h5");
    expect(weights).toBeDefined();
    const info = await readHdf5RootAttributes(new BufferSource(weights as Uint8Array));
    expect(info.attributes.has("model_config")).toBe(false);
  });
});

describe("kerasMemberAnalyzer", () => {
  it("reports code only inside Keras archives", async () => {
    const inside = fakeContext("run_me.py", "python", ["zip", "keras"]);
    await kerasMemberAnalyzer.analyze(inside.ctx);
    expect(inside.reports.map((r) => r.ruleId)).toEqual(["keras/unexpected-member"]);
    const outside = fakeContext("train.py", "python", []);
    await kerasMemberAnalyzer.analyze(outside.ctx);
    expect(outside.reports).toEqual([]);
  });
});

describe("readHdf5RootAttributes", () => {
  it("reads fixed-length and variable-length string attributes (superblocks 0 and 3)", async () => {
    const v0 = await readHdf5RootAttributes(await FileSource.open(join(SAMPLES, "keras/clean/sequential_legacy.h5")));
    expect(v0.superblockVersion).toBe(0);
    expect(v0.attributes.get("keras_version")?.strings).toEqual(["2.13.1"]);
    expect(JSON.parse(v0.attributes.get("model_config")?.strings?.[0] ?? "").class_name).toBe("Sequential");
    const v3 = await readHdf5RootAttributes(
      await FileSource.open(join(SAMPLES, "keras/clean/sequential_legacy_vlen_v3.h5")),
    );
    expect(v3.superblockVersion).toBe(3);
    expect(JSON.parse(v3.attributes.get("model_config")?.strings?.[0] ?? "").class_name).toBe("Sequential");
  });

  it("reports dense attribute storage and rejects broken files with typed errors", async () => {
    const dense = await readHdf5RootAttributes(await FileSource.open(join(SAMPLES, "keras/dense_attributes.h5")));
    expect(dense.denseAttributes).toBe(true);
    const bytes = readFileSync(join(SAMPLES, "keras/clean/sequential_legacy.h5"));
    for (const cut of [10, 100, 600, 1500]) {
      await expect(readHdf5RootAttributes(new BufferSource(bytes.subarray(0, cut)))).rejects.toMatchObject({
        name: "ModelgateError",
      });
    }
    const loop = new Uint8Array(bytes);
    loop[8] = 9; // superblock version 9
    await expect(readHdf5RootAttributes(new BufferSource(loop))).rejects.toMatchObject({ code: "UNSUPPORTED" });
  });
});

describe("analyzeKerasConfig", () => {
  it("flags TFOpLambda by what it calls and undecodable Lambda code", () => {
    const cfg = (fn: string) => ({ class_name: "TFOpLambda", config: { name: "op", function: fn } });
    expect(analyzeKerasConfig(cfg("math.add"), "c").findings[0]?.severity).toBe("low");
    expect(analyzeKerasConfig(cfg("compat.v1.py_func"), "c").findings[0]?.severity).toBe("high");
    const bad = analyzeKerasConfig(
      { class_name: "Lambda", config: { name: "l", function: ["!!!not base64", null, null], function_type: "lambda" } },
      "c",
    );
    expect(bad.findings[0]).toMatchObject({ ruleId: "keras/lambda-layer", evidence: { decoded: false } });
  });

  it("enforces its depth budget", () => {
    let deep: unknown = {};
    for (let i = 0; i < 600; i++) deep = { config: deep };
    expect(() => analyzeKerasConfig(deep, "c")).toThrow(expect.objectContaining({ budget: "keras.maxDepth" }));
  });
});

describe("duplicate keys in Keras JSON (strict parser, the last value wins as in Python)", () => {
  // a Keras v3 layer whose `module` is written twice: a reader keeping the first value sees
  // keras.layers, Keras (Python's json) loads the second
  const layer = '{"module": "keras.layers", "class_name": "Dense", "config": {"units": 2}, "module": "os"}';
  const config = `{"module": "keras", "class_name": "Sequential", "config": {"name": "s", "layers": [${layer}]}}`;

  it("reports a repeated key in the config.json of a .keras archive once, and analyses the value Keras loads", async () => {
    const weights = readFileSync(join(SAMPLES, "keras/clean/sequential_legacy.h5"));
    const zip = buildZip([
      { name: "metadata.json", data: '{"keras_version": "3.13.0", "date_saved": "2025-01-01@00:00:00"}' },
      { name: "config.json", data: config },
      { name: "model.weights.h5", data: new Uint8Array(weights) },
    ]);
    const file = await scanOne(zip, "model.keras");
    expect(file.format).toBe("keras");
    const duplicates = file.findings.filter((f) => f.ruleId === "repo/json-duplicate-key");
    expect(duplicates).toHaveLength(1);
    expect(duplicates[0]).toMatchObject({
      path: "model.keras!config.json",
      evidence: { key: "module", in: "config/layers/0" },
    });
    expect(file.findings).toContainEqual(
      expect.objectContaining({ ruleId: "keras/foreign-module", path: "model.keras!config.json" }),
    );
  });

  it("reports a repeated key in the model_config attribute of a legacy HDF5 model", async () => {
    const bytes = new Uint8Array(readFileSync(join(SAMPLES, "keras/clean/sequential_legacy.h5")));
    const text = Buffer.from(bytes).toString("latin1");
    // same length, in place: the first Dense layer's "units" becomes a second "dtype"
    const at = text.indexOf('"units": 8');
    expect(at).toBeGreaterThan(0);
    bytes.set(Buffer.from('"dtype": 8', "latin1"), at);
    const file = await scanOne(bytes, "model.h5");
    expect(file.format).toBe("hdf5");
    expect(file.findings.filter((f) => f.ruleId === "repo/json-duplicate-key")).toEqual([
      expect.objectContaining({ evidence: expect.objectContaining({ key: "dtype", source: "model_config" }) }),
    ]);
    const clean = await scanOne(readFileSync(join(SAMPLES, "keras/clean/sequential_legacy.h5")), "model.h5");
    expect(ruleIds(clean)).not.toContain("repo/json-duplicate-key");
  });
});
