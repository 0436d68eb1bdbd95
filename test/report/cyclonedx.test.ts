import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { CliIO } from "../../src/cli/io.js";
import { runCli } from "../../src/cli/run.js";
import { type CdxComponent, type CycloneDxBom, renderCycloneDx } from "../../src/report/render/cyclonedx.js";
import type { FileReport, ScanReport } from "../../src/report/schema.js";
import { scan } from "../../src/scan/engine.js";
import { cycloneDxValidator } from "../helpers/cyclonedx.js";
import { SAMPLES } from "../helpers/scan.js";

const MODEL = join(SAMPLES, "teams", "tiny-llama");
const validate = cycloneDxValidator();
let report: ScanReport;

beforeAll(async () => {
  report = await scan(MODEL, { policy: {} });
});

const files = (bom: CycloneDxBom, m = 0): CdxComponent[] => bom.components[m]!.components ?? [];
const propsOf = (c: { properties?: { name: string; value: string }[] }) =>
  Object.fromEntries((c.properties ?? []).map((p) => [p.name, p.value]));

function expectValid(bom: unknown): void {
  const result = validate(bom);
  expect(result.errors).toBe("");
  expect(result.valid).toBe(true);
}

describe("CycloneDX 1.6 ML-BOM", () => {
  it("a real scan renders a BOM the official 1.6 schema accepts", () => {
    const bom = renderCycloneDx(report);
    expectValid(bom);
    expect(bom.specVersion).toBe("1.6");
    expect(bom.serialNumber).toMatch(/^urn:uuid:[0-9a-f-]{36}$/);
    expect(bom.metadata.timestamp).toBe(report.startedAt);
  });

  it("describes the model as a machine-learning-model whose files carry their real SHA-256", () => {
    const bom = renderCycloneDx(report);
    const model = bom.components[0]!;
    expect(model.type).toBe("machine-learning-model");
    expect(model.name).toBe("tiny-llama");
    expect(files(bom).map((f) => f.name)).toEqual(report.files.map((f) => f.path));
    for (const f of files(bom)) {
      const digest = createHash("sha256")
        .update(readFileSync(join(MODEL, f.name)))
        .digest("hex");
      expect(f.type).toBe("file");
      expect(f.hashes).toEqual([{ alg: "SHA-256", content: digest }]);
    }
    expect(propsOf(files(bom).find((f) => f.name === "model.onnx")!)["modelgate:format"]).toBe("onnx");
  });

  it("fills the model card from config.json facts", () => {
    const card = renderCycloneDx(report).components[0]!.modelCard!;
    expect(card.modelParameters).toMatchObject({ architectureFamily: "llama", modelArchitecture: "LlamaForCausalLM" });
    expect(propsOf(card)["modelgate:toolVersions"]).toBe("transformers=4.46.1");
  });

  it("turns findings into vulnerabilities that reference existing file components, with CVE references", () => {
    const bom = renderCycloneDx(report);
    const refs = new Set(files(bom).map((f) => f["bom-ref"]));
    const total = report.files.reduce((n, f) => n + f.findings.length, 0);
    expect(bom.vulnerabilities).toHaveLength(total);
    for (const v of bom.vulnerabilities) for (const a of v.affects) expect(refs.has(a.ref)).toBe(true);
    const vuln = bom.vulnerabilities.find((v) => v.id === "policy/vulnerable-tool-version")!;
    expect(vuln.affects[0]!.ref).toMatch(/#file:(config|generation_config)\.json$/);
    expect(vuln.references?.map((r) => r.id)).toEqual(
      expect.arrayContaining(["CVE-2024-11392", "CVE-2024-11393", "CVE-2024-11394"]),
    );
    expect(vuln.references?.find((r) => r.id === "CVE-2024-11392")?.source.url).toBe(
      "https://nvd.nist.gov/vuln/detail/CVE-2024-11392",
    );
    expect(vuln.ratings[0]!.severity).toBe("info");
    expect(vuln.source.url).toMatch(/rules\.md#policyvulnerable-tool-version$/);
  });

  it("Hub targets get a pkg:huggingface purl; BLAKE2b/BLAKE3, signature and analyzer facts map as documented", () => {
    const commit = "0123456789abcdef0123456789abcdef01234567";
    const blake2b = createHash("blake2b512").update("x").digest("hex");
    const facts: Record<string, Record<string, unknown>> = {
      "model.onnx": {
        opset: 13,
        inputs: [{ name: "input_ids", dtype: "int64", shape: [1, 4] }],
        outputs: [{ name: "logits", dtype: "float32", shape: [1, 4, 16] }],
      },
      "pytorch_model.bin": { parameterCount: 320, tensorCount: 4, dtypes: ["float32"] },
    };
    const shard = (path: string, parameterCount: number): FileReport => ({
      path,
      size: 10,
      format: "safetensors",
      formats: ["safetensors"],
      verdict: "clean",
      findings: [],
      facts: { parameterCount, tensorCount: 2, dtypes: ["bfloat16", "float32"] },
    });
    const hub = {
      ...report,
      target: {
        kind: "hub" as const,
        name: "acme/tiny-llama",
        hub: { repo: "acme/tiny-llama", revision: "main", commit },
      },
      files: [
        ...report.files.map((f) => ({
          ...f,
          facts: { ...f.facts, ...facts[f.path] },
          hashes: { blake2b, blake3: "ab".repeat(32) },
        })),
        shard("model-00001-of-00002.safetensors", 200),
        shard("model-00002-of-00002.safetensors", 180),
      ],
      signature: {
        status: "verified" as const,
        method: "sigstore" as const,
        signer: { identity: "ci@acme.example", issuer: "https://issuer.example" },
        errors: [],
        warnings: [],
        files: [],
      },
    };
    const bom = renderCycloneDx(hub);
    expectValid(bom);
    const model = bom.components[0]!;
    expect(model.purl).toBe(`pkg:huggingface/acme/tiny-llama@${commit}`);
    expect(model["bom-ref"]).toBe(model.purl);
    expect(model).toMatchObject({ group: "acme", name: "tiny-llama", version: commit });
    expect(model.externalReferences?.[0]?.url).toBe(`https://huggingface.co/acme/tiny-llama/tree/${commit}`);
    expect(files(bom)[0]!.hashes!.map((h) => h.alg)).toEqual(["SHA-256", "BLAKE2b-512", "BLAKE3"]);
    expect(propsOf(model)).toMatchObject({
      "modelgate:signature:status": "verified",
      "modelgate:signature:method": "sigstore",
      "modelgate:signature:identity": "ci@acme.example",
      "modelgate:signature:issuer": "https://issuer.example",
      "modelgate:verdict": report.verdict,
      "modelgate:policy:hash": report.policy!.hash,
    });
    const card = model.modelCard!;
    // Shards are summed per format (200 + 180), the larger format total wins over the .bin (320).
    expect(propsOf(card)).toMatchObject({
      "modelgate:parameterCount": "380",
      "modelgate:tensorCount": "4",
      "modelgate:dtypes": "bfloat16,float32",
      "modelgate:opset": "13",
    });
    expect(card.modelParameters?.inputs).toEqual([{ format: "tensor int64[1,4] (input_ids)" }]);
    expect(card.modelParameters?.outputs).toEqual([{ format: "tensor float32[1,4,16] (logits)" }]);
  });

  it("reads the namespaced fact keys analyzers record (onnx.parameters, onnx.opsets, keras.modelClass)", () => {
    const onnx: FileReport = {
      path: "model.onnx",
      size: 1,
      format: "onnx",
      formats: ["onnx"],
      verdict: "clean",
      findings: [],
      facts: { "onnx.parameters": 320, "onnx.initializers": 3, "onnx.opsets": { "": 13, "com.microsoft": 1 } },
    };
    const keras: FileReport = {
      ...onnx,
      path: "m.keras",
      format: "keras",
      formats: ["keras"],
      facts: { "keras.modelClass": "Functional", "keras.version": "3.3.3" },
    };
    const bom = renderCycloneDx({ ...report, files: [onnx, keras] });
    expectValid(bom);
    const card = bom.components[0]!.modelCard!;
    expect(card.modelParameters?.modelArchitecture).toBe("Functional");
    expect(propsOf(card)).toMatchObject({
      "modelgate:parameterCount": "320",
      "modelgate:tensorCount": "3",
      "modelgate:opset": "ai.onnx=13,com.microsoft=1",
      "modelgate:toolVersions": "keras=3.3.3",
    });
  });

  it("reports a missing signature result as unknown, never as verified", () => {
    const { signature: _signature, ...bare } = report;
    expect(propsOf(renderCycloneDx(bare).components[0]!)["modelgate:signature:status"]).toBe("unknown");
    expect(propsOf(renderCycloneDx(report).components[0]!)["modelgate:signature:status"]).toBe("unsigned");
  });

  it("suppressed findings become vulnerabilities with a not_affected analysis carrying the reason", async () => {
    const suppressed = await scan(MODEL, {
      policy: {
        suppressions: [
          { rule: "policy/vulnerable-tool-version", path: "*.json", reason: "loaded with 4.50", expires: "2999-01-01" },
        ],
      },
    });
    expect(suppressed.files.flatMap((f) => f.findings).some((f) => f.ruleId === "policy/vulnerable-tool-version")).toBe(
      false,
    );
    const bom = renderCycloneDx(suppressed);
    expectValid(bom);
    const vulns = bom.vulnerabilities.filter((v) => v.id === "policy/vulnerable-tool-version");
    expect(vulns).toHaveLength(2);
    for (const v of vulns) {
      expect(v.analysis?.state).toBe("not_affected");
      expect(v.analysis?.detail).toContain("loaded with 4.50");
      expect(v.analysis?.detail).toContain("until 2999-01-01");
    }
  });

  it("the validator rejects what the 1.6 schema forbids (it is not a no-op)", () => {
    const bom = renderCycloneDx(report) as unknown as { components: { type: string }[] };
    bom.components[0]!.type = "neural-network";
    expect(validate(bom).valid).toBe(false);
    const noName = renderCycloneDx(report) as unknown as { components: Record<string, unknown>[] };
    delete noName.components[0]!.name;
    expect(validate(noName).valid).toBe(false);
  });
});

describe("modelgate scan --format cyclonedx", () => {
  it("prints one valid BOM with a model component per target", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mg-cdx-"));
    await writeFile(join(dir, "config.json"), '{"model_type":"bert","keras_version":"2.12.0"}');
    let out = "";
    const io: CliIO = {
      stdout: (t) => {
        out += t;
      },
      stderr: () => undefined,
      stderrIsTTY: false,
      stdoutIsTTY: false,
      env: {},
      signal: new AbortController().signal,
    };
    const code = await runCli(["scan", join(MODEL, "config.json"), dir, "--format", "cyclonedx", "--no-policy"], io);
    expect(code).toBe(0); // info findings only
    const bom = JSON.parse(out) as CycloneDxBom;
    expectValid(bom);
    expect(bom.components.map((c) => c.type)).toEqual(["machine-learning-model", "machine-learning-model"]);
    expect(new Set(bom.components.map((c) => c["bom-ref"])).size).toBe(2);
    const keras = bom.vulnerabilities.find((v) => v.references?.some((r) => r.id === "CVE-2024-3660"));
    expect(keras?.affects[0]?.ref).toBe(`${bom.components[1]!["bom-ref"]}#file:config.json`);
    await rm(dir, { recursive: true });
  });
});
