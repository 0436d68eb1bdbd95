/**
 * Rules of the repo area: Hugging Face model repositories and model directories taken as a whole
 * (configs, remote code, scripts, notebooks, sharded checkpoints).
 * @module
 */
import type { RuleDef } from "../../core/rules.js";

const REMOTE_CODE = "https://huggingface.co/docs/transformers/en/custom_models";

/** repo rules. */
export const repoRules = [
  {
    id: "repo/remote-code",
    title: "Loading runs repository code (trust_remote_code)",
    severity: "medium",
    description:
      "An `auto_map` (or `custom_pipelines`) entry in `config.json`, `tokenizer_config.json` or a processor config makes `from_pretrained(..., trust_remote_code=True)` import Python modules from the repository; so does a sentence-transformers `modules.json` `type` (or a Router's `router_config.json` `types`, a `wordembedding_config.json` `tokenizer_class`) outside `sentence_transformers.*`. An `auto_map` counts at any depth (processor sub-configs such as `image_processor`, `feature_extractor`, `video_processor`), and its values may be strings, `[slow, fast]` lists or `{backend: class}` dicts; a value ending in a dot (`modeling_x.`) still imports its module. The finding on the config lists the classes and the `.py` files that would run (following their relative imports); each of those files carries the finding too. A value that cannot be read as `module.Class` (no dot, a number, nesting too deep) is reported as well: what a loader would import from it is unknown. A diffusers `model_index.json` whose `_class_name` is a `[pipeline, Class]` list loads pipeline code too (a community pipeline fetched by name, or the repository's `<pipeline>.py`), and a component's `<component>/<library>.py` (with its relative imports) carries this finding whatever the library: diffusers looks for that file before it imports `diffusers`, `transformers` or any library that is not a pipeline module of the running version (older versions know fewer), so the file's presence is the signal; `modular_config.json` `auto_map` counts like any other.",
    references: [REMOTE_CODE],
  },
  {
    id: "repo/remote-code-external",
    title: "auto_map loads code from another repository",
    severity: "high",
    description:
      "An `auto_map` value (or a sentence-transformers `modules.json` `type`) has the form `other/repo--module.Class`; a diffusers `model_index.json` `_class_name` list names `org/repo` as its pipeline (diffusers imports that repository's `pipeline.py`); or a `config.json` `attn_implementation` (at any depth) is a hub kernel `org/repo[@rev][:fn]` outside `kernels-community/`, which transformers downloads and imports when the model is built, without `trust_remote_code`. The code that runs comes from a different repository, which was not scanned and can change at any time.",
    references: [REMOTE_CODE],
  },
  {
    id: "repo/remote-code-missing",
    title: "auto_map names a module that is not in the scanned tree",
    severity: "medium",
    description:
      "A module referenced by `auto_map` (or imported by one) has no `.py` file here. Loaders will fetch it from the Hub at load time, unscanned, or fail.",
    references: [REMOTE_CODE],
  },
  {
    id: "repo/dataset-script",
    title: "Dataset repository ships a loading script",
    severity: "medium",
    description:
      "A Hub dataset repository holds `<name>.py` at its top level (`name` being the repository's name): the `datasets` library imports and runs it on `load_dataset(\"owner/name\")` with the user's privileges (with `trust_remote_code=True` in 3.x; 2.x ran it by default, with a warning; 4.0 no longer runs scripts). It usually downloads more data from URLs it names, which were not scanned. Like an `auto_map` (`repo/remote-code`) it is code that runs on load, not proof of intent: its code is analysed like any `.py` file, and what it does (`repo/risky-code`) decides how bad it is. Reported only for dataset repositories scanned from the Hub.",
    references: ["https://huggingface.co/docs/datasets/en/dataset_script"],
  },
  {
    id: "repo/python-file",
    title: "Python source in a model directory",
    severity: "medium",
    description:
      "A `.py` file ships with the model. Whether or not a config references it, it is code that users are invited to run; its imports are listed as evidence.",
  },
  {
    id: "repo/risky-code",
    title: "Script runs commands, downloads or deserialises",
    severity: "high",
    description:
      "A Python file, notebook or shell script in the model calls process-execution, dynamic-code, network-download or unsafe-deserialisation primitives (`os.system`, `subprocess`, `exec`/`eval`, `__import__`, `pickle.loads`, `urllib`/`requests`, `curl | sh`, `base64 -d`; in Windows scripts encoded PowerShell, `iex` download cradles, `certutil -urlcache`, `WScript.Shell`, `schtasks /create`). Model code has little reason to do any of these at import time.",
  },
  {
    id: "repo/notebook",
    title: "Jupyter notebook in a model directory",
    severity: "medium",
    description:
      "An `.ipynb` notebook ships with the model. Its code cells (and `!`/`%%bash` shell cells) are analysed.",
  },
  {
    id: "repo/shell-script",
    title: "Shell script in a model directory",
    severity: "medium",
    description: "A shell script ships with the model. Users are invited to run it; its commands are analysed.",
  },
  {
    id: "repo/pickle-beside-safetensors",
    title: "Pickle-based weights next to safetensors weights",
    severity: "medium",
    description:
      "A directory holds safetensors weights and also pickle-based weights (`pytorch_model.bin`, `.pt`, `.ckpt` ...). Which one a loader picks depends on library, version and flags (`use_safetensors=False`, older diffusers, custom loaders), so the pickle is a live path even when the safetensors file is clean.",
  },
  {
    id: "repo/index-path-escape",
    title: "Checkpoint index points outside the model directory",
    severity: "high",
    description:
      "A sharded checkpoint index (`*.index.json` `weight_map`) names a shard by an absolute path, a drive letter or `..` components, so a loader would open a file outside the model directory; or inside the directory's own `.git`, which the scan does not look into.",
  },
  {
    id: "repo/index-missing-shard",
    title: "Checkpoint index names a shard that is absent",
    severity: "low",
    description:
      "A sharded checkpoint index references a file that is not in the scanned tree. The shard was not scanned; a loader would fetch it separately or fail.",
  },
  {
    id: "repo/invalid-json",
    title: "Configuration JSON is invalid",
    severity: "medium",
    invalidates: true,
    description:
      "A model configuration file (`config.json`, `tokenizer_config.json`, `chat_template.json`, an index ...) is not valid JSON or exceeds the parser's budgets, so its remote-code references and templates could not be checked.",
  },
  {
    id: "repo/json-duplicate-key",
    title: "Duplicate key in configuration JSON",
    severity: "medium",
    description:
      "A configuration JSON repeats a key. Python keeps the last value, other parsers the first: a reviewer (or a scanner) reading one value while the loader uses the other is a known way to hide an `auto_map` or a chat template.",
  },
  {
    id: "repo/installed-module-import",
    title: "Config makes a loader import an installed module it names",
    severity: "medium",
    description:
      "A PEFT `adapter_config.json` without `task_type` holds `auto_mapping` (`{base_model_class, parent_library}`): `AutoPeftModel.from_pretrained` imports `parent_library` with `importlib.import_module` and calls `from_pretrained` on the class it names. The module is taken from the loading machine, not the repository, so what runs depends on what is installed there; an import runs the module's top-level code. Modules of transformers, diffusers and timm (what PEFT records for their models) are not reported; any other module, or a value of another shape, is. A sentence-transformers CrossEncoder `config.json` `sbert_ce_default_activation_function` (or `sentence_transformers.activation_fn`) outside `torch.` is reported too: it is imported by name and called. So is a diffusers `model_index.json` component `[library, Class]` whose library is neither `diffusers`, `transformers`, `onnxruntime.training` nor a `diffusers.pipelines` subpackage: `DiffusionPipeline.from_pretrained` loads `<component>/<library>.py` from the repository when that file exists (a custom component; the file then carries `repo/remote-code`), else runs `importlib.import_module(library)`. A `modular_model_index.json` component `[library, Class, spec]` is judged by its spec's `type_hint` library, which `ModularPipeline` imports when the pipeline is built (`simple_get_class_obj`).",
    references: ["https://huggingface.co/docs/peft/package_reference/auto_class"],
  },
  {
    id: "repo/external-model",
    title: "Config loads another model at load time",
    severity: "medium",
    description:
      "A processor config's `audio_tokenizer` (`{audio_tokenizer_class, audio_tokenizer_name_or_path}`) makes `AutoProcessor.from_pretrained` load that path with `AutoModel.from_pretrained`: another Hub repository (or a directory of the loading machine) whose files were not part of this scan, and whose remote code runs when `trust_remote_code=True` is passed to the processor. open_clip's `open_clip_config.json` `model_cfg.text_cfg.hf_model_name` / `hf_tokenizer_name` load another repository's text model or tokenizer the same way. So do a diffusers `modular_model_index.json` component spec's `pretrained_model_name_or_path` (or `repo`), which `ModularPipeline.load_components()` loads with `from_pretrained` (unless it is the scanned Hub repository at the scanned revision), and a model card's `prior` beside a `model_index.json`: the connected pipelines (Kandinsky, Würstchen and Stable Cascade combined pipelines, which `AutoPipeline*` and `load_connected_pipeline=True` pick for their decoders) load its first entry with `DiffusionPipeline.from_pretrained` and the caller's options (its weights, its components' imports, its code under `trust_remote_code`). Scan that repository too.",
  },
] as const satisfies readonly RuleDef[];

declare module "../../core/findings.js" {
  // the ids above are registered rule ids (`RuleId`)
  interface RuleRegistry extends Record<(typeof repoRules)[number]["id"], true> {}
}
