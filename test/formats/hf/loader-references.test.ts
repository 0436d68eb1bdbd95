/**
 * What a loader imports or loads because a config names it, outside `auto_map`: PEFT's
 * `auto_mapping` (an installed module PEFT imports) and a processor's `audio_tokenizer` (another
 * repository's model).
 */
import { describe, expect, it } from "vitest";
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
