import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import type { FileReport } from "../../../src/report/schema.js";
import { buildTar } from "../../containers/tar-builder.js";
import { scanOne, scanSample } from "../../helpers/scan.js";

const CONFIG =
  "target: nemo.collections.asr.models.EncDecCTCModel\npreprocessor:\n  _target_: nemo.collections.asr.modules.AudioToMelSpectrogramPreprocessor\n";

/** Rules of findings on the file itself (not on its members). */
function rootRules(file: FileReport): string[] {
  return file.findings.filter((f) => f.path === file.path).map((f) => f.ruleId);
}

function members(file: FileReport) {
  return (file.members ?? []).map((m) => ({ path: m.path, format: m.format, verdict: m.verdict }));
}

describe("NeMo archives", () => {
  it("names a tar with model_config.yaml nemo and analyses the config as YAML", async () => {
    const tar = buildTar([
      { name: "./model_config.yaml", data: CONFIG },
      { name: "./model_weights.ckpt", data: "not a checkpoint" },
    ]);
    const file = await scanOne(tar, "model.nemo");
    expect(file.format).toBe("nemo");
    expect(rootRules(file)).not.toContain("format/claim-unmet");
    expect(members(file)).toEqual(
      expect.arrayContaining([{ path: "model.nemo!./model_config.yaml", format: "yaml", verdict: "clean" }]),
    );
    // model_weights.ckpt is claimed as a pickle: garbage there is invalid, never clean
    expect(file.verdict).toBe("invalid");
  });

  it("judges the config's top-level target and _target_s inside the archive", async () => {
    for (const config of ["target: os.system\n", "a:\n  _target_: builtins.exec\n  _args_: ['print(1)']\n"]) {
      const file = await scanOne(gzipSync(buildTar([{ name: "./model_config.yaml", data: config }])), "m.nemo");
      expect(file.verdict).toBe("malicious");
    }
  });

  it("reads cls as NeMo's config upgrade does (renamed _target_, params flattened), nested or at the root", async () => {
    const configs = [
      'target: nemo.collections.asr.models.EncDecCTCModel\npreprocessor:\n  cls: os.system\n  params:\n    command: "id"\n',
      'cls: os.system\nparams:\n  command: "id"\n',
      "encoder:\n  cls: hydra.utils.get_method\n  params:\n    path: builtins.exec\n",
    ];
    for (const config of configs) {
      const file = await scanOne(buildTar([{ name: "model_config.yaml", data: config }]), "m.nemo");
      expect(file.format).toBe("nemo");
      expect(file.verdict).toBe("malicious");
    }
    const old =
      "target: nemo.collections.asr.models.EncDecCTCModel\npreprocessor:\n  cls: nemo.collections.asr.modules.AudioToMelSpectrogramPreprocessor\n  params:\n    features: 64\n";
    const benign = await scanOne(buildTar([{ name: "model_config.yaml", data: old }]), "m.nemo");
    expect(benign.findings.filter((f) => f.ruleId === "yaml/hydra-target")).toEqual([]);
  });

  it("leaves other tars alone", async () => {
    const file = await scanOne(buildTar([{ name: "sub/model_config.yaml", data: "target: price\n" }]), "x.nemo");
    expect(file.format).toBe("tar");
    expect(rootRules(file)).not.toContain("format/claim-unmet");
    // outside a NeMo archive, a top-level `target` that is no Python path is not NeMo's
    expect(file.verdict).toBe("clean");
  });

  it("reads the committed samples as NeMo", async () => {
    const report = await scanSample("nemo/benign/asr_ctc.nemo");
    expect(report.verdict).toBe("clean");
    const inner = report.files[0]?.members?.find((m) => m.format === "nemo");
    expect(inner).toBeDefined();
    const weights = report.files[0]?.members?.find((m) => m.path.endsWith("model_weights.ckpt"));
    expect(weights?.format).toBe("pytorch-zip");
    const bad = await scanSample("nemo/malicious/target_os_system.nemo");
    expect(bad.verdict).toBe("malicious");
    expect(bad.files[0]?.format).toBe("nemo");
  });
});
