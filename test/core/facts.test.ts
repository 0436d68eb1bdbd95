/**
 * Facts are recorded per node (the file, each member) and aggregated once per file by
 * `report/facts.ts`: counts of members add up, lists join, container details stay the outermost
 * node's, and the CycloneDX model card follows.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { aggregateFacts, countFact, countOf, FACT_ALIASES, FACT_RULES, factRule } from "../../src/core/facts.js";
import { resolvePolicy } from "../../src/policy/policy.js";
import { renderCycloneDx } from "../../src/report/render/cyclonedx.js";
import type { FileReport, ScanReport } from "../../src/report/schema.js";
import { scan } from "../../src/scan/engine.js";
import { FileRecorder, type NodeRecord } from "../../src/scan/file-recorder.js";
import { buildZip } from "../containers/zip-builder.js";
import { cycloneDxValidator } from "../helpers/cyclonedx.js";
import { scanBytes, scanOne, scanSample } from "../helpers/scan.js";

/** Bytes per element of the dtypes the writer below uses. */
const ITEM_SIZE = { F32: 4, F16: 2, BF16: 2, I64: 8 } as const;

/** A minimal safetensors file: 8-byte header length, JSON header (space-padded to 8), zeroed data. */
function safetensors(tensors: Record<string, { dtype: keyof typeof ITEM_SIZE; shape: number[] }>): Uint8Array {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const bytes = t.shape.reduce((a, b) => a * b, 1) * ITEM_SIZE[t.dtype];
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (json.length % 8)) % 8);
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(new TextEncoder().encode(json), 8);
  return out;
}

/** 3 tensors, 14 parameters (F32 and F16). */
const THREE = safetensors({
  "a.weight": { dtype: "F32", shape: [2, 3] },
  "a.bias": { dtype: "F32", shape: [2] },
  "b.weight": { dtype: "F16", shape: [3, 2] },
});
/** 5 tensors, 31 parameters (F32 and BF16). */
const FIVE = safetensors({
  "c.0": { dtype: "F32", shape: [4, 4] },
  "c.1": { dtype: "F32", shape: [4] },
  "c.2": { dtype: "BF16", shape: [2, 2] },
  "c.3": { dtype: "BF16", shape: [3] },
  "c.4": { dtype: "BF16", shape: [4] },
});

const cardProperty = (report: ScanReport, name: string): string | undefined =>
  renderCycloneDx(report, {
    serialNumber: "urn:uuid:00000000-0000-4000-8000-000000000000",
  }).components[0]?.modelCard?.properties?.find((p) => p.name === name)?.value;

const fileProperty = (report: ScanReport, name: string): string | undefined =>
  renderCycloneDx(report).components[0]?.components?.[0]?.properties?.find((p) => p.name === name)?.value;

describe("aggregateFacts", () => {
  it("keeps a key that one node gives as that node gives it, whatever its rule", () => {
    const own = { tensorCount: 3, dtypes: ["F32", "F32"], "numpy.shape": [2, 2], toolVersions: "odd" };
    expect(aggregateFacts([own, {}])).toEqual(own);
    expect(aggregateFacts([])).toEqual({});
  });

  it("sums counts exactly, as strings beyond 2^53, ignoring values that are no counts", () => {
    expect(aggregateFacts([{ tensorCount: 3 }, { tensorCount: 5 }]).tensorCount).toBe(8);
    const big = aggregateFacts([{ parameterCount: Number.MAX_SAFE_INTEGER }, { parameterCount: "10" }]);
    expect(big.parameterCount).toBe("9007199254741001");
    expect(aggregateFacts([{ parameterCount: "9007199254741001" }, { parameterCount: 1 }]).parameterCount).toBe(
      "9007199254741002",
    );
    expect(aggregateFacts([{ tensorCount: 2 }, { tensorCount: -1 }, { tensorCount: "x" }]).tensorCount).toBe(2);
    expect(aggregateFacts([{ tensorCount: "x" }, { tensorCount: "y" }]).tensorCount).toBe("x");
  });

  it("joins lists without duplicates in first-seen order, and merges records with the first value winning", () => {
    const facts = aggregateFacts([
      { dtypes: ["F32", "F16"], toolVersions: { keras: "3.3.3" }, "onnx.opsets": { "": 17 } },
      { dtypes: ["BF16", "F32"], toolVersions: { keras: "2.0.0", torch: "2.1" }, "onnx.opsets": { "": 13, x: 1 } },
    ]);
    expect(facts.dtypes).toEqual(["F32", "F16", "BF16"]);
    expect(facts.toolVersions).toEqual({ keras: "3.3.3", torch: "2.1" });
    expect(facts["onnx.opsets"]).toEqual({ "": 17, x: 1 });
  });

  it("sums records of counts per entry and keeps per-array details only when every node agrees", () => {
    const facts = aggregateFacts([
      { "safetensors.dtypeCounts": { F32: 2, F16: 1 }, "numpy.dtype": "<f8", "numpy.shape": [2] },
      { "safetensors.dtypeCounts": { F32: 2, BF16: 3 }, "numpy.dtype": "<f8", "numpy.shape": [3] },
    ]);
    expect(facts["safetensors.dtypeCounts"]).toEqual({ F32: 4, F16: 1, BF16: 3 });
    expect(facts["numpy.dtype"]).toBe("<f8");
    expect(facts).not.toHaveProperty("numpy.shape");
  });

  it("keeps the first node's value for keys without a rule (the file's own container details)", () => {
    expect(aggregateFacts([{ "zip.entries": 2 }, { "zip.entries": 7 }])["zip.entries"]).toBe(2);
    expect(factRule("zip.entries")).toBe("first");
    expect(aggregateFacts([{ "pickle.protocol": 2 }, { "pickle.protocol": 4 }])["pickle.protocol"]).toBe(4);
  });

  it("defines own entries for hostile record keys instead of setting a prototype", () => {
    const facts = aggregateFacts([
      { toolVersions: JSON.parse('{"__proto__": {"polluted": "1"}}') },
      { toolVersions: { keras: "3" } },
    ]);
    const tv = facts.toolVersions as Record<string, unknown>;
    expect(Object.getPrototypeOf(tv)).toBe(Object.prototype);
    expect(Object.keys(tv)).toEqual(["__proto__", "keras"]);
  });

  it("gives every alias the rule of its canonical key", () => {
    for (const [key, aliases] of Object.entries(FACT_ALIASES)) {
      expect(FACT_RULES[key], key).toBeDefined();
      for (const alias of aliases) expect(factRule(alias), alias).toBe(factRule(key));
    }
    expect(countOf(countFact(2n ** 60n))).toBe(2n ** 60n);
  });
});

describe("facts of files with members", () => {
  it("an .npz sums its arrays (numpy.savez(a=np.arange(4), b=np.eye(2)))", async () => {
    const file = (await scanSample("pickle/numpy/arrays.npz")).files[0]!;
    expect(file.members?.map((m) => m.format)).toEqual(["numpy", "numpy"]);
    expect(file.facts).toMatchObject({
      "zip.entries": 2,
      tensorCount: 2,
      parameterCount: 4 + 4,
      dtypes: ["i8", "f8"],
    });
    // the shape and dtype of one array do not describe two different ones
    expect(file.facts).not.toHaveProperty("numpy.shape");
    expect(file.facts).not.toHaveProperty("numpy.dtype");
  });

  it("a compressed .npz with an object array (np.arange(4), np.array([{'x': 1}], dtype=object))", async () => {
    const file = (await scanSample("pickle/numpy/arrays_compressed.npz")).files[0]!;
    expect(file.facts).toMatchObject({ tensorCount: 2, parameterCount: 5, dtypes: ["i8", "O"] });
  });

  it("a zip of two safetensors files of 3 and 5 tensors: 8 tensors, and the model card says so", async () => {
    const alone = [await scanOne(THREE, "three.safetensors"), await scanOne(FIVE, "five.safetensors")];
    expect(alone.map((f) => f.facts?.tensorCount)).toEqual([3, 5]);
    expect(alone.map((f) => f.facts?.parameterCount)).toEqual([14, 31]);

    const report = await scanBytes(
      buildZip([
        { name: "three.safetensors", data: THREE },
        { name: "five.safetensors", data: FIVE, method: 8 },
      ]),
      "weights.zip",
    );
    const file = report.files[0]!;
    expect(file.verdict).toBe("clean");
    expect(file.members?.map((m) => m.format)).toEqual(["safetensors", "safetensors"]);
    expect(file.facts).toMatchObject({
      "zip.entries": 2,
      tensorCount: 8,
      parameterCount: 45,
      dtypes: ["F32", "F16", "BF16"],
      "safetensors.dtypeCounts": { F32: 4, F16: 1, BF16: 3 },
    });
    expect(cardProperty(report, "modelgate:tensorCount")).toBe("8");
    expect(cardProperty(report, "modelgate:parameterCount")).toBe("45");
    expect(cardProperty(report, "modelgate:dtypes")).toBe("BF16,F16,F32");
    expect(fileProperty(report, "modelgate:fact:tensorCount")).toBe("8");
    const bom = renderCycloneDx(report);
    const result = cycloneDxValidator()(JSON.parse(JSON.stringify(bom)));
    expect(result.errors).toBe("");
  });

  it("nested containers: members at every depth count, container details are the outer file's", async () => {
    const inner = buildZip([
      { name: "three.safetensors", data: THREE },
      { name: "README.txt", data: "weights" },
      { name: "more.txt", data: "more" },
    ]);
    const report = await scanBytes(
      buildZip([
        { name: "inner.zip", data: inner },
        { name: "five.safetensors", data: FIVE },
      ]),
      "outer.zip",
    );
    const file = report.files[0]!;
    expect(file.members?.map((m) => m.path)).toEqual(
      expect.arrayContaining([
        "outer.zip!inner.zip",
        "outer.zip!inner.zip!three.safetensors",
        "outer.zip!five.safetensors",
      ]),
    );
    expect(file.facts).toMatchObject({ "zip.entries": 2, tensorCount: 8, parameterCount: 45 });
    expect(cardProperty(report, "modelgate:tensorCount")).toBe("8");
  });

  it("the model card adds up files of one format and keeps the largest format total", async () => {
    const dir = mkdtempSync(join(tmpdir(), "modelgate-facts-"));
    try {
      writeFileSync(join(dir, "weights.zip"), buildZip([{ name: "three.safetensors", data: THREE }]));
      writeFileSync(join(dir, "more.zip"), buildZip([{ name: "five.safetensors", data: FIVE }]));
      writeFileSync(join(dir, "three.safetensors"), THREE);
      const report = await scan(dir);
      // zips: 3 + 5; safetensors: 3
      expect(cardProperty(report, "modelgate:tensorCount")).toBe("8");
      expect(cardProperty(report, "modelgate:parameterCount")).toBe("45");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("counts beyond 2^53 reach the model card exactly", async () => {
    const report = await scanBytes(THREE, "a.safetensors");
    const a = report.files[0]!;
    const b: FileReport = { ...a, path: "b.safetensors", facts: { ...a.facts, parameterCount: 7 } };
    a.facts = { ...a.facts, parameterCount: "9007199254740993" };
    report.files.push(b);
    expect(cardProperty(report, "modelgate:parameterCount")).toBe("9007199254741000");
  });
});

describe("FileRecorder", () => {
  const member = (parent: NodeRecord, name: string): NodeRecord => ({
    path: `${parent.path}!${name}`,
    parent,
    size: 1,
    format: "unknown",
    verdict: "clean",
  });

  it("keeps facts per node and aggregates them with the file's own first, then the shallowest", () => {
    const recorder = new FileRecorder("m.zip", 10, resolvePolicy());
    const outer = member(recorder.root, "deep.zip");
    const deep = member(outer, "x.gguf");
    const shallow = member(recorder.root, "y.gguf");
    recorder.fact(deep, "architecture", "deep");
    recorder.fact(deep, "tensorCount", 1);
    recorder.fact(shallow, "architecture", "shallow");
    recorder.fact(shallow, "tensorCount", 2);
    recorder.fact(shallow, "tensorCount", 3); // a node's last value wins
    expect(recorder.toReport().facts).toEqual({ architecture: "shallow", tensorCount: 4 });
    recorder.fact(recorder.root, "architecture", "own");
    recorder.facts.task = "repo analyzers write the file's own facts";
    expect(recorder.toReport().facts).toMatchObject({ architecture: "own", tensorCount: 4, task: expect.any(String) });
  });

  it("takes a cached result's facts as the file's own, unchanged", async () => {
    const report = await scanBytes(
      buildZip([
        { name: "a", data: THREE },
        { name: "b", data: FIVE },
      ]),
      "w.zip",
    );
    const cached = report.files[0]!;
    const recorder = new FileRecorder("w.zip", cached.size, resolvePolicy());
    recorder.restore(cached);
    expect(recorder.toReport().facts).toEqual(cached.facts);
    expect(cached.facts?.tensorCount).toBe(8);
  });
});
