import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configAnalyzer, pythonVersionToSemver, recordedVersions } from "../../../src/formats/hf/configs.js";
import { resolvePolicy } from "../../../src/policy/policy.js";
import type { FileReport, Finding, ScanReport } from "../../../src/report/schema.js";
import { scan } from "../../../src/scan/engine.js";
import type { FindingInput, RepoContext } from "../../../src/scan/types.js";
import { DEFAULT_LIMITS } from "../../../src/scan/types.js";
import { BufferSource } from "../../../src/sources/byte-source.js";
import { SourceRoot } from "../../../src/sources/roots.js";

describe("Python versions as semver", () => {
  it.each([
    ["4.46.1", "4.46.1"],
    ["4.48.0.dev0", "4.48.0-dev.0"],
    ["5.0.0rc3", "5.0.0-rc.3"],
    ["3.0", "3.0.0"],
    ["2.1.0+cu121", "2.1.0"],
    ["1.2.3.post1", "1.2.3"],
    ["2.13.1a2", "2.13.1-alpha.2"],
    ["v4.50.0", "4.50.0"],
    ["main", undefined],
    ["", undefined],
    ["4.x", undefined],
  ])("%s → %s", (input, expected) => {
    expect(pythonVersionToSemver(input)).toBe(expected);
  });

  it("reads every place a config records a version", () => {
    expect(
      recordedVersions({
        transformers_version: "4.30.0",
        __version__: { sentence_transformers: "2.2.2", transformers: "4.29.0", pytorch: "1.13.0+cu117" },
        _diffusers_version: "0.27.0",
        keras_version: "3.3.3",
      }).map((v) => `${v.tool}@${v.version}`),
    ).toEqual([
      "transformers@4.30.0",
      "keras@3.3.3",
      "diffusers@0.27.0",
      "sentence-transformers@2.2.2",
      "transformers@4.29.0",
      "torch@1.13.0+cu117",
    ]);
    expect(recordedVersions([1, 2])).toEqual([]);
    expect(recordedVersions({ transformers_version: 4.3 })).toEqual([]);
  });
});

describe("config analyzer in a scan", () => {
  let dir: string;
  let report: ScanReport;
  const file = (path: string): FileReport => report.files.find((f) => f.path === path)!;
  const cves = (path: string): string[] =>
    file(path)
      .findings.filter((f) => f.ruleId === "policy/vulnerable-tool-version")
      .flatMap((f) => f.cve ?? []);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mg-configs-"));
    const json = (path: string, value: unknown) => writeFile(join(dir, path), JSON.stringify(value));
    await mkdir(join(dir, "unet"));
    await json("config.json", {
      architectures: ["Qwen2ForCausalLM"],
      model_type: "qwen2",
      transformers_version: "4.57.1",
    });
    await json("generation_config.json", { transformers_version: "5.3.0" });
    await json("preprocessor_config.json", { transformers_version: "4.48.0.dev0" });
    await json("config_sentence_transformers.json", {
      __version__: { sentence_transformers: "2.2.2", transformers: "4.30.0", pytorch: "1.13.0+cu117" },
    });
    await json("model_index.json", { _class_name: "StableDiffusionPipeline", _diffusers_version: "0.27.0" });
    await json("unet/config.json", { _class_name: "UNet2DConditionModel", _diffusers_version: "main" });
    await writeFile(join(dir, "adapter_config.json"), "{ not json");
    await writeFile(join(dir, "big_config.json"), `{"transformers_version":"4.0.0","pad":"${"x".repeat(1 << 20)}"}`);
    report = await scan(dir, { policy: { minimumVersions: { transformers: "4.50.0", diffusers: "0.30.0" } } });
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("matches advisories by range, including pre-releases of a fixed version", () => {
    expect(cves("config.json")).toEqual(["CVE-2026-4372", "GHSA-29pf-2h5f-8g72"]);
    expect(cves("generation_config.json")).toEqual([]);
    expect(cves("preprocessor_config.json")).toEqual(["CVE-2024-11392", "CVE-2024-11393", "CVE-2024-11394"]);
    expect(cves("config_sentence_transformers.json")).toEqual(
      expect.arrayContaining(["CVE-2023-6730", "CVE-2024-3568", "CVE-2024-11392", "CVE-2025-32434", "CVE-2026-24747"]),
    );
    const finding = file("config.json").findings.find((f) => f.ruleId === "policy/vulnerable-tool-version")!;
    expect(finding).toMatchObject({
      severity: "info",
      evidence: { tool: "transformers", version: "4.57.1", fixed: "5.3.0" },
    });
    expect(file("config.json").verdict).toBe("clean"); // info findings do not change the verdict
    expect(file("preprocessor_config.json").verdict).toBe("suspicious"); // below the policy minimum
  });

  it("enforces policy minimums, failing closed on versions it cannot read", () => {
    const below = (path: string): Finding[] =>
      file(path).findings.filter((f) => f.ruleId === "policy/tool-version-below-minimum");
    expect(below("generation_config.json")).toEqual([]);
    expect(below("config.json")).toEqual([]);
    expect(below("preprocessor_config.json").map((f) => f.message)).toEqual([
      "records transformers 4.48.0.dev0, below the policy minimum 4.50.0",
    ]);
    expect(below("config_sentence_transformers.json")).toHaveLength(1);
    expect(below("model_index.json")[0]?.severity).toBe("medium");
    expect(below("unet/config.json")[0]?.message).toMatch(/"main", which cannot be compared/);
  });

  it("records model facts for the BOM and skips unreadable or oversized configs quietly", () => {
    expect(file("config.json").facts).toEqual({
      architecture: "Qwen2ForCausalLM",
      modelType: "qwen2",
      toolVersions: { transformers: "4.57.1" },
    });
    expect(file("unet/config.json").facts).toMatchObject({ architecture: "UNet2DConditionModel" });
    expect(file("adapter_config.json").findings.filter((f) => f.ruleId.startsWith("policy/"))).toEqual([]);
    expect(file("big_config.json").findings.filter((f) => f.ruleId.startsWith("policy/"))).toEqual([]);
    expect(report.errors).toEqual([]);
  });
});

describe("config analyzer and analyzer facts", () => {
  it("checks toolVersions facts that format analyzers record (Keras archives, HDF5 attributes)", async () => {
    const reported: Array<[string, FindingInput]> = [];
    const root = new SourceRoot(new BufferSource(new Uint8Array(0)), "m.keras", "bytes");
    const ctx: RepoContext = {
      root,
      openFile: () => root.open(),
      entries: [
        { path: "m.keras", size: 0, kind: "file" },
        { path: "old.h5", size: 0, kind: "file" },
      ],
      files: [
        {
          path: "m.keras",
          size: 0,
          format: "keras",
          formats: ["keras"],
          findings: [],
          facts: { toolVersions: { keras: "3.8.0", notatool: "1.0" } },
        },
        {
          path: "old.h5",
          size: 0,
          format: "hdf5",
          formats: ["hdf5"],
          findings: [],
          facts: { "keras.version": "2.12.0" },
        },
      ],
      limits: DEFAULT_LIMITS,
      policy: resolvePolicy({ minimumVersions: { keras: "3.11.3" } }),
      signal: new AbortController().signal,
      options: {},
      report: (path, finding) => reported.push([path, finding]),
      fact: () => undefined,
    };
    await configAnalyzer.analyze(ctx);
    expect(reported.map(([p, f]) => [p, f.ruleId])).toEqual([
      ["m.keras", "policy/vulnerable-tool-version"],
      ["m.keras", "policy/tool-version-below-minimum"],
      ["old.h5", "policy/vulnerable-tool-version"],
      ["old.h5", "policy/tool-version-below-minimum"],
    ]);
    expect(reported[2]![1].cve).toEqual(["CVE-2024-3660"]);
    expect(reported[0]![1].cve).toEqual(
      expect.arrayContaining(["CVE-2025-1550", "CVE-2025-8747", "CVE-2025-9906", "CVE-2025-9905"]),
    );
  });
});
