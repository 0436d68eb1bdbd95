// biome-ignore-all lint/suspicious/noTemplateCurlyInString: OmegaConf interpolations are written ${...} in plain strings
/**
 * NeMo's config upgrade (`cls` renamed `_target_`, `params` flattened) and Hydra 1.0's aliases
 * (`cls`, `class`, `target`) in a NeMo `model_config.yaml`: judged as `_target_` is.
 */
import { describe, expect, it } from "vitest";
import type { FindingInput } from "../../../src/core/findings.js";
import { picklePolicy } from "../../../src/formats/pickle/policy/index.js";
import { analyzeYamlText } from "../../../src/formats/yaml/analyze.js";

const policy = picklePolicy("pickle");
const targets = (text: string, topLevelTarget?: "all" | "dotted"): FindingInput[] =>
  analyzeYamlText(text, { policy, topLevelTarget }).findings.filter((f) => f.ruleId === "yaml/hydra-target");
const callees = (found: FindingInput[]) => found.map((f) => f.evidence?.callee);

describe("NeMo config upgrade and Hydra 1.0 aliases", () => {
  it("reads cls as _target_ in a submodule and at the root (the reviewer's PoCs)", () => {
    const sub =
      'target: nemo.collections.asr.models.EncDecCTCModel\npreprocessor:\n  cls: os.system\n  params:\n    command: "touch /tmp/x"\nencoder:\n  cls: nemo.collections.asr.modules.ConvASREncoder\n  params:\n    feat_in: 64\n';
    for (const mode of ["all", "dotted"] as const) {
      const found = targets(sub, mode);
      expect(callees(found)).toEqual(["os.system"]);
      expect(found[0]?.severity).toBe("critical");
      expect(found[0]?.evidence?.key).toBe("cls");
      expect(found[0]?.message).toContain("renames `cls` to `_target_`");
    }
    const root = targets('cls: os.system\nparams:\n  command: "touch /tmp/x"\n', "all");
    expect(callees(root)).toEqual(["os.system"]);
    expect(root[0]?.severity).toBe("critical");
  });

  it("judges cls exactly as _target_: interpolated, non-string, outside the allowlist", () => {
    expect(targets("v: os.system\nm:\n  cls: ${v}\n", "all")[0]?.severity).toBe("high");
    expect(targets("m:\n  cls: [os, system]\n", "all")[0]?.ruleId).toBe("yaml/hydra-target");
    expect(targets("m:\n  cls: mypkg.Net\n", "all")[0]?.severity).toBe("high");
    expect(targets("m:\n  cls: builtins.exec\n", "all")[0]?.severity).toBe("critical");
  });

  it("reads the params NeMo flattens: get_method's path, _partial_, trust_remote_code", () => {
    const method = targets("m:\n  cls: hydra.utils.get_method\n  params:\n    path: os.system\n", "all");
    expect(method[0]?.severity).toBe("critical");
    expect(method[0]?.evidence?.callee).toBe("os.system");
    const trust = targets(
      "m:\n  _target_: transformers.AutoModel.from_pretrained\n  params:\n    trust_remote_code: true\n",
      "all",
    );
    expect(trust.some((f) => f.evidence?.reason === "trust_remote_code")).toBe(true);
    // a _target_ hidden in params replaces the parent's: the params mapping is judged itself
    expect(callees(targets("m:\n  cls: torch.nn.ReLU\n  params:\n    _target_: os.system\n", "all"))).toEqual([
      "os.system",
    ]);
  });

  it("reads Hydra 1.0's class and a nested target (NeMo's from_config_dict) when they name a callable", () => {
    expect(callees(targets("m:\n  class: subprocess.Popen\n", "all"))).toEqual(["subprocess.Popen"]);
    expect(callees(targets("m:\n  target: os.system\n", "dotted"))).toEqual(["os.system"]);
    expect(targets("v: os.system\nm:\n  target: ${v}\n", "all")[0]?.severity).toBe("high");
    // data that happens to use these names
    expect(targets("m:\n  class: 3\n  target: 0.5\nn:\n  class: person\n  target: text\n", "all")).toEqual([]);
  });

  it("leaves the aliases to _target_ when a mapping has one, and allowlisted classes clean", () => {
    expect(targets("m:\n  _target_: torch.nn.ReLU\n  cls: os.system\n", "all")).toEqual([]);
    const old =
      "target: nemo.collections.asr.models.EncDecCTCModel\npreprocessor:\n  cls: nemo.collections.asr.modules.AudioToMelSpectrogramPreprocessor\n  params:\n    features: 64\noptim:\n  name: novograd\n  sched:\n    name: CosineAnnealing\n";
    expect(targets(old, "all")).toEqual([]);
  });

  it("keeps plain YAML (no NeMo context) to _target_ and instantiate_from_config's target", () => {
    expect(targets("m:\n  cls: os.system\n  class: os.system\n")).toEqual([]);
    expect(callees(targets("m:\n  _target_: os.system\n"))).toEqual(["os.system"]);
    // latent-diffusion's instantiate_from_config imports `target` (see ldm-target.test.ts)
    expect(callees(targets("m:\n  target: os.system\n"))).toEqual(["os.system"]);
  });
});
