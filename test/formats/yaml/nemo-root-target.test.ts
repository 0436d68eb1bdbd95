// biome-ignore-all lint/suspicious/noTemplateCurlyInString: OmegaConf interpolations are written ${...} in plain strings
/**
 * The root `target` of a NeMo `model_config.yaml` outside a `.nemo` archive: NeMo reads it through
 * OmegaConf (interpolations resolved, aliases followed) and imports what it names, so a value that
 * may name a callable (dotted, interpolated, an alias) is judged; a column name is not.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { FindingInput } from "../../../src/core/findings.js";
import { picklePolicy } from "../../../src/formats/pickle/policy/index.js";
import { analyzeYamlText } from "../../../src/formats/yaml/analyze.js";
import { scan } from "../../../src/index.js";

const policy = picklePolicy("pickle");
const targets = (text: string): FindingInput[] =>
  analyzeYamlText(text, { policy, topLevelTarget: "dotted" }).findings.filter((f) => f.ruleId === "yaml/hydra-target");

describe("NeMo root target outside an archive", () => {
  it("an interpolated root target is judged (the reviewer's PoC)", () => {
    const found = targets("name: x\nimpl: subprocess.getoutput\ntarget: ${impl}\n");
    expect(found.map((f) => f.evidence?.key)).toEqual(["target"]);
    expect(found[0]?.severity).toBe("high");
  });

  it("a resolver in the root target and an alias are judged too", () => {
    expect(targets("target: ${oc.env:IMPL}\n")).toHaveLength(1);
    expect(targets("impl: &i os.system\ntarget: *i\n").map((f) => f.evidence?.key)).toEqual(["target"]);
  });

  it("a dotted name is judged, a column name or a number is not", () => {
    expect(targets("target: os.system\n")[0]?.severity).toBe("critical");
    expect(targets("target: price\n")).toEqual([]);
    expect(targets("target: 0.5\n")).toEqual([]);
    expect(targets("target: nemo.collections.asr.models.EncDecCTCModel\n")).toEqual([]);
  });

  it("a scanned directory's model_config.yaml with an interpolated target is not clean", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mg-nemo-root-"));
    try {
      await writeFile(join(dir, "model_config.yaml"), "name: x\nimpl: subprocess.getoutput\ntarget: ${impl}\n");
      const report = await scan(dir);
      const file = report.files.find((f) => f.path === "model_config.yaml") ?? expect.fail("config");
      expect(file.findings.map((f) => f.ruleId)).toContain("yaml/hydra-target");
      expect(file.verdict).not.toBe("clean");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("NeMo config in a scanned folder", () => {
  it("m/model_config.yaml gets NeMo's semantics like a top-level one", async () => {
    const { scanOne, ruleIds } = await import("../../helpers/scan.js");
    const text = "encoder:\n  cls: os.system\n  params:\n    command: id\n";
    const file = await scanOne(new TextEncoder().encode(text), "m/model_config.yaml");
    expect(ruleIds(file)).toContain("yaml/hydra-target");
    expect(file.verdict).toBe("malicious");
  });
});
