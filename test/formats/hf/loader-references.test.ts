/**
 * What a loader imports or loads because a config names it, outside `auto_map`: PEFT's
 * `auto_mapping` (an installed module PEFT imports) and a processor's `audio_tokenizer` (another
 * repository's model).
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { scan } from "../../../src/index.js";
import { ruleIds, scanOne } from "../../helpers/scan.js";

const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const lora = {
  base_model_name_or_path: "google-bert/bert-base-uncased",
  peft_type: "LORA",
  r: 8,
  lora_alpha: 16,
  target_modules: ["query", "value"],
};

describe("PEFT adapter_config.json auto_mapping", () => {
  it.each([
    ["a module outside the trusted libraries", { base_model_class: "Evil", parent_library: "evil_plugin.models" }],
    [
      "transformers' remote-code cache",
      { base_model_class: "M", parent_library: "transformers_modules.org.m.modeling" },
    ],
    ["a name that is not a dotted identifier", { base_model_class: "M", parent_library: "transformers/../x" }],
    ["a class that is not a string", { base_model_class: 3, parent_library: "transformers" }],
    ["a list", ["transformers", "BertModel"]],
    ["a string", "evil_plugin"],
  ])("%s is reported (no task_type)", async (_label, mapping) => {
    const file = await scanOne(json({ ...lora, task_type: null, auto_mapping: mapping }), "adapter_config.json");
    expect(ruleIds(file)).toEqual(["repo/installed-module-import"]);
    expect(file.verdict).toBe("suspicious");
  });

  it("is reported when task_type is absent, as PEFT reads a missing key", async () => {
    const mapping = { base_model_class: "Evil", parent_library: "evil_plugin" };
    const file = await scanOne(json({ ...lora, auto_mapping: mapping }), "nested/adapter_config.json");
    expect(ruleIds(file)).toEqual(["repo/installed-module-import"]);
  });

  it.each([
    ["transformers", "transformers.models.bert.modeling_bert", "BertModel"],
    ["diffusers", "diffusers.models.unets.unet_2d_condition", "UNet2DConditionModel"],
    ["timm", "timm.models.vision_transformer", "VisionTransformer"],
  ])("a %s module (what PEFT records for its models) is clean", async (_label, parent, cls) => {
    const mapping = { base_model_class: cls, parent_library: parent };
    const file = await scanOne(json({ ...lora, task_type: null, auto_mapping: mapping }), "adapter_config.json");
    expect(file.verdict).toBe("clean");
  });

  it("is not read when task_type is set (PEFT takes the task's auto class)", async () => {
    const mapping = { base_model_class: "Evil", parent_library: "evil_plugin" };
    const file = await scanOne(json({ ...lora, task_type: "CAUSAL_LM", auto_mapping: mapping }), "adapter_config.json");
    expect(file.verdict).toBe("clean");
  });

  it("is only read in adapter configs", async () => {
    const mapping = { base_model_class: "Evil", parent_library: "evil_plugin" };
    const file = await scanOne(json({ auto_mapping: mapping }), "settings.json");
    expect(file.verdict).toBe("clean");
  });
});

describe("processor audio_tokenizer", () => {
  it.each(["processor_config.json", "preprocessor_config.json"])(
    "%s naming another model is reported with its path",
    async (name) => {
      const cfg = {
        processor_class: "HiggsAudioV2Processor",
        audio_tokenizer: { audio_tokenizer_class: "DacModel", audio_tokenizer_name_or_path: "attacker/codec" },
      };
      const file = await scanOne(json(cfg), name);
      expect(ruleIds(file)).toEqual(["repo/external-model"]);
      expect(file.findings[0]?.evidence).toMatchObject({ path: "attacker/codec", class: "DacModel" });
      expect(file.verdict).toBe("suspicious");
    },
  );

  it("an unreadable entry is reported too", async () => {
    const file = await scanOne(json({ audio_tokenizer: "attacker/codec" }), "processor_config.json");
    expect(ruleIds(file)).toEqual(["repo/external-model"]);
  });

  it("a processor config without one stays clean", async () => {
    const file = await scanOne(
      json({ processor_class: "LlavaProcessor", audio_tokenizer: null }),
      "processor_config.json",
    );
    expect(file.verdict).toBe("clean");
  });
});

describe("sharded checkpoint index", () => {
  it.each([".git/pytorch_model-00001-of-00001.bin", "./.git/objects/x.bin"])(
    "a shard inside .git (%s), which the scan does not look into, is high",
    async (shard) => {
      const index = { metadata: {}, weight_map: { "w.weight": shard } };
      const file = await scanOne(json(index), "pytorch_model.bin.index.json");
      expect(ruleIds(file)).toContain("repo/index-path-escape");
    },
  );

  it("a shard inside .hg or .svn is an ordinary path (those folders are scanned)", async () => {
    const index = { metadata: {}, weight_map: { "w.weight": ".svn/pytorch_model-00001-of-00001.bin" } };
    const file = await scanOne(json(index), "pytorch_model.bin.index.json");
    expect(ruleIds(file)).not.toContain("repo/index-path-escape");
  });
});

describe("other code and models a config names", () => {
  it.each([
    ["attn_implementation", { model_type: "llama", attn_implementation: "attacker/evil-kernel" }],
    ["_attn_implementation", { model_type: "llama", _attn_implementation: "attacker/evil-kernel@v1:attn" }],
    ["a sub-config's", { model_type: "llava", text_config: { attn_implementation: "attacker/k" } }],
    ["a per-config dict", { model_type: "llava", attn_implementation: { text_config: "attacker/k" } }],
  ])("a hub kernel as %s attention implementation is another repository's code", async (_label, cfg) => {
    const file = await scanOne(json(cfg), "config.json");
    expect(ruleIds(file)).toContain("repo/remote-code-external");
    expect(file.verdict).toBe("malicious");
  });

  it.each(["eager", "sdpa", "flash_attention_2", "flex_attention", "kernels-community/flash-attn"])(
    "attn_implementation %s is not reported",
    async (impl) => {
      const file = await scanOne(json({ model_type: "llama", attn_implementation: impl }), "config.json");
      expect(file.verdict).toBe("clean");
    },
  );

  it("a CrossEncoder activation outside torch is an installed module imported and called", async () => {
    const evil = await scanOne(json({ sbert_ce_default_activation_function: "os.fork" }), "config.json");
    expect(ruleIds(evil)).toEqual(["repo/installed-module-import"]);
    const v4 = await scanOne(json({ sentence_transformers: { activation_fn: "builtins.breakpoint" } }), "config.json");
    expect(ruleIds(v4)).toEqual(["repo/installed-module-import"]);
    const torch = await scanOne(
      json({ sbert_ce_default_activation_function: "torch.nn.modules.activation.Sigmoid" }),
      "config.json",
    );
    expect(torch.verdict).toBe("clean");
  });

  it("a diffusers _class_name list loads pipeline code: another repository's (high) or a community one", async () => {
    const remote = await scanOne(json({ _class_name: ["attacker/evil-pipeline", "EvilPipeline"] }), "model_index.json");
    expect(ruleIds(remote)).toEqual(["repo/remote-code-external"]);
    const community = await scanOne(json({ _class_name: ["lpw_stable_diffusion", "X"] }), "model_index.json");
    expect(ruleIds(community)).toEqual(["repo/remote-code"]);
    const plain = await scanOne(
      json({
        _class_name: "StableDiffusionPipeline",
        scheduler: ["diffusers", "PNDMScheduler"],
        safety_checker: ["stable_diffusion", "StableDiffusionSafetyChecker"],
      }),
      "model_index.json",
    );
    expect(plain.verdict).toBe("clean");
  });

  it("a diffusers component whose library is not diffusers' own names an import (installed module or custom component)", async () => {
    const file = await scanOne(
      json({
        _class_name: "StableDiffusionPipeline",
        scheduler: ["diffusers", "PNDMScheduler"],
        text_encoder: ["transformers", "CLIPTextModel"],
        safety_checker: ["stable_diffusion", "StableDiffusionSafetyChecker"],
        feature_extractor: [null, null],
        unet: ["evil_plugin", "UNet"],
        vae: [7, "AutoencoderKL"],
      }),
      "model_index.json",
    );
    expect(ruleIds(file)).toEqual(["repo/installed-module-import"]);
    const at = file.findings.map((f) => f.evidence?.declaredAt);
    expect(at).toEqual(["unet", "vae"]);
  });

  it("a custom component's <component>/<library>.py is remote code in a scanned directory", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mg-diffusers-"));
    try {
      await mkdir(join(dir, "unet"));
      await writeFile(
        join(dir, "model_index.json"),
        JSON.stringify({ _class_name: "StableDiffusionPipeline", unet: ["my_unet", "MyUNet"] }),
      );
      await writeFile(join(dir, "unet", "my_unet.py"), "from .blocks import B\nclass MyUNet: pass\n");
      await writeFile(join(dir, "unet", "blocks.py"), "class B: pass\n");
      await writeFile(join(dir, "unet", "unrelated.py"), "X = 1\n");
      const report = await scan(dir);
      const of = (p: string) => report.files.find((f) => f.path === p);
      expect(ruleIds(of("model_index.json") ?? expect.fail("config"))).toEqual(["repo/installed-module-import"]);
      expect(ruleIds(of("unet/my_unet.py") ?? expect.fail("module"))).toContain("repo/remote-code");
      expect(ruleIds(of("unet/blocks.py") ?? expect.fail("import"))).toContain("repo/remote-code");
      expect(ruleIds(of("unet/unrelated.py") ?? expect.fail("other"))).not.toContain("repo/remote-code");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("open_clip's text tower from another repository is an external model", async () => {
    const cfg = {
      model_cfg: { text_cfg: { hf_model_name: "xlm-roberta-large", hf_tokenizer_name: "xlm-roberta-large" } },
    };
    const file = await scanOne(json(cfg), "open_clip_config.json");
    expect(ruleIds(file)).toEqual(["repo/external-model"]);
    expect(file.findings.filter((f) => f.ruleId === "repo/external-model")).toHaveLength(2);
  });

  it("diffusers' modular_config.json auto_map is remote code", async () => {
    const file = await scanOne(json({ auto_map: { ModularPipelineBlocks: "block.MyBlocks" } }), "modular_config.json");
    expect(ruleIds(file)).toContain("repo/remote-code");
  });
});
