/**
 * Other things a Hugging Face loader fetches or imports because a config names them, outside
 * `auto_map`:
 * - PEFT `adapter_config.json` `auto_mapping` (`{base_model_class, parent_library}`): with no
 *   `task_type`, `AutoPeftModel.from_pretrained` runs `importlib.import_module(parent_library)` and
 *   calls `getattr(module, base_model_class).from_pretrained(...)`, so the repository chooses an
 *   installed module to import and a class whose `from_pretrained` runs;
 * - a processor's `audio_tokenizer` (`{audio_tokenizer_class, audio_tokenizer_name_or_path}`):
 *   `ProcessorMixin.from_pretrained` loads that path with `AutoModel.from_pretrained`, a model from
 *   another repository (or a directory of the loading machine), which this scan did not see;
 * - transformers' hub kernels: an `attn_implementation` of the form `org/repo[@rev][:fn]` (at any
 *   depth of `config.json`) makes `PreTrainedModel` download and import that repository's kernel
 *   package through `kernels.get_kernel`, without `trust_remote_code`;
 * - sentence-transformers' CrossEncoder activation (`sbert_ce_default_activation_function`,
 *   `sentence_transformers.activation_fn`): imported by name and called (`import_from_string`);
 * - diffusers' `model_index.json` `_class_name` as a list `[pipeline, Class]`: the pipeline is
 *   code, from another repository (`org/name`) or a community pipeline (a bare name);
 * - open_clip's `hf_model_name` / `hf_tokenizer_name`: another repository's model.
 * @module
 */
import { JsonObject, type JsonValue } from "../../core/json.js";
import { preview } from "../../core/preview.js";

/** One thing reported by this module. */
export interface LoaderReference {
  readonly ruleId:
    | "repo/installed-module-import"
    | "repo/external-model"
    | "repo/remote-code-external"
    | "repo/remote-code";
  readonly message: string;
  readonly evidence: Readonly<Record<string, string>>;
}

/**
 * Module prefixes whose classes PEFT imports for a base model without running repository code:
 * the installed libraries that PEFT itself records (`model.__class__.__module__`) for models of
 * transformers, diffusers and timm. `transformers_modules` (the cache of remote code) is not one.
 */
const TRUSTED_PARENT_LIBRARIES: readonly string[] = ["transformers", "diffusers", "timm"];

/** Whether PEFT's import of `name` stays within the trusted libraries (`transformers.models.x`). */
function trustedParent(name: string): boolean {
  if (!/^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(name)) return false;
  const top = name.split(".")[0];
  return top !== undefined && TRUSTED_PARENT_LIBRARIES.includes(top);
}

/** A JSON value as short text for evidence. */
function show(v: JsonValue | undefined): string {
  if (v === undefined) return "(missing)";
  if (typeof v === "string") return preview(v, 120);
  if (v instanceof JsonObject) return "{…}";
  if (Array.isArray(v)) return "[…]";
  return String(v);
}

/**
 * PEFT's `auto_mapping` of an adapter config (read only when `task_type` is absent or null, as
 * PEFT reads it).
 * @param root - the parsed `adapter_config.json`
 */
export function peftAutoMapping(root: JsonObject): LoaderReference[] {
  const mapping = root.get("auto_mapping");
  if (mapping === undefined || mapping === null) return [];
  const taskType = root.get("task_type");
  // PEFT takes `task_type` first when it is set; a set task type that PEFT does not know makes it
  // fail before the import, any known one loads through transformers' auto classes.
  if (taskType !== undefined && taskType !== null) return [];
  if (!(mapping instanceof JsonObject)) {
    return [
      {
        ruleId: "repo/installed-module-import",
        message: `auto_mapping is ${show(mapping)} where PEFT expects {base_model_class, parent_library}: what it would import is unknown`,
        evidence: { declaredAt: "auto_mapping", value: show(mapping) },
      },
    ];
  }
  const parent = mapping.get("parent_library");
  const cls = mapping.get("base_model_class");
  if (typeof parent === "string" && trustedParent(parent) && typeof cls === "string") return [];
  return [
    {
      ruleId: "repo/installed-module-import",
      message: `AutoPeftModel.from_pretrained imports ${typeof parent === "string" ? `module "${preview(parent, 120)}"` : `parent_library ${show(parent)}`} and calls ${typeof cls === "string" ? `"${preview(cls, 80)}"` : show(cls)}.from_pretrained (auto_mapping, no task_type): a module outside ${TRUSTED_PARENT_LIBRARIES.join(", ")}`,
      evidence: { declaredAt: "auto_mapping", parentLibrary: show(parent), baseModelClass: show(cls) },
    },
  ];
}

/**
 * The `audio_tokenizer` of a processor config: the model `ProcessorMixin` loads with `AutoModel`.
 * @param root - the parsed processor config
 */
export function processorAudioTokenizer(root: JsonObject): LoaderReference[] {
  const entry = root.get("audio_tokenizer");
  if (entry === undefined || entry === null) return [];
  const path = entry instanceof JsonObject ? entry.get("audio_tokenizer_name_or_path") : undefined;
  const cls = entry instanceof JsonObject ? entry.get("audio_tokenizer_class") : undefined;
  return [
    {
      ruleId: "repo/external-model",
      message:
        typeof path === "string"
          ? `the processor loads its audio tokenizer "${preview(path, 120)}" with AutoModel.from_pretrained: another model, not part of this scan`
          : `audio_tokenizer is ${show(entry)}: the processor loads a model named there, which modelgate cannot read`,
      evidence: { declaredAt: "audio_tokenizer", path: show(path), class: show(cls) },
    },
  ];
}

/** A transformers hub-kernel reference (`is_kernel`): `org/repo`, optionally `@revision`, `:function`. */
const KERNEL_REFERENCE = /^[^/:\s]+\/[^/:@\s]+(?:@[^/:\s]+)?(?::[^/:\s]+)?$/;
/** Kernels transformers itself loads from the Hub's curated organisation. */
const TRUSTED_KERNEL_ORG = "kernels-community/";
/** Most values visited looking for attention implementations. */
const MAX_KERNEL_NODES = 100_000;

/**
 * Hub kernels a `config.json` names as its attention implementation (`attn_implementation`,
 * `_attn_implementation`, at any depth: sub-configs such as `text_config`).
 * @param root - the parsed config
 */
export function attentionKernels(root: JsonObject): LoaderReference[] {
  const out: LoaderReference[] = [];
  let visited = 0;
  const walk = (v: JsonValue, path: string, depth: number): void => {
    if (out.length >= 20 || ++visited > MAX_KERNEL_NODES || depth > 64) return;
    if (v instanceof JsonObject) {
      for (const [k, item] of v.entries) {
        if ((k === "attn_implementation" || k === "_attn_implementation") && item !== null && item !== undefined) {
          const values =
            typeof item === "string" ? [item] : item instanceof JsonObject ? [...item.entries.values()] : [item];
          for (const value of values) {
            if (typeof value !== "string" || !KERNEL_REFERENCE.test(value) || value.startsWith(TRUSTED_KERNEL_ORG))
              continue;
            out.push({
              ruleId: "repo/remote-code-external",
              message: `${preview(`${path}${k}`, 100)} is "${preview(value, 120)}": transformers downloads that repository's kernel and imports it when the model is built (kernels.get_kernel), without trust_remote_code`,
              evidence: {
                declaredAt: preview(`${path}${k}`, 100),
                repo: preview(value.split(/[@:]/)[0] ?? value, 100),
                reference: preview(value, 200),
              },
            });
          }
        } else if (item instanceof JsonObject || Array.isArray(item)) walk(item, `${path}${k}.`, depth + 1);
      }
    } else if (Array.isArray(v)) {
      for (const item of v) if (item instanceof JsonObject || Array.isArray(item)) walk(item, path, depth + 1);
    }
  };
  walk(root, "", 0);
  return out;
}

/**
 * A sentence-transformers CrossEncoder's activation function, which it imports by its dotted
 * name and calls (`import_from_string(name)()`): anything outside `torch.` is reported.
 * @param root - the parsed `config.json`
 */
export function crossEncoderActivation(root: JsonObject): LoaderReference[] {
  const found: [string, JsonValue | undefined][] = [
    ["sbert_ce_default_activation_function", root.get("sbert_ce_default_activation_function")],
  ];
  const st = root.get("sentence_transformers");
  if (st instanceof JsonObject) found.push(["sentence_transformers.activation_fn", st.get("activation_fn")]);
  const out: LoaderReference[] = [];
  for (const [at, v] of found) {
    if (v === undefined || v === null) continue;
    if (typeof v === "string" && /^torch\.[A-Za-z_][\w.]*$/.test(v)) continue;
    out.push({
      ruleId: "repo/installed-module-import",
      message: `${at} is ${show(v)}: sentence-transformers' CrossEncoder imports it by name and calls it (a name outside torch.)`,
      evidence: { declaredAt: at, value: show(v) },
    });
  }
  return out;
}

/**
 * diffusers' pipeline class: a `[pipeline, Class]` list in `_class_name` loads pipeline code
 * (`custom_pipeline`): another repository's `pipeline.py` for `org/name`, else a community
 * pipeline or a `<name>.py` of the repository.
 * @param root - the parsed `model_index.json`
 */
export function diffusersPipeline(root: JsonObject): LoaderReference[] {
  const cls = root.get("_class_name");
  if (!Array.isArray(cls)) return [];
  const pipeline = cls[0];
  if (typeof pipeline === "string" && pipeline.includes("/")) {
    return [
      {
        ruleId: "repo/remote-code-external",
        message: `_class_name names the pipeline "${preview(pipeline, 120)}": diffusers downloads that repository's pipeline.py and imports it (from_pretrained with trust_remote_code)`,
        evidence: {
          declaredAt: "_class_name",
          repo: preview(pipeline, 100),
          reference: preview(JSON.stringify(cls), 200),
        },
      },
    ];
  }
  return [
    {
      ruleId: "repo/remote-code",
      message: `_class_name is a list naming the pipeline ${show(pipeline)}: diffusers loads it as code (a community pipeline fetched by name, or ${typeof pipeline === "string" ? `${preview(pipeline, 80)}.py` : "a module"} of the repository)`,
      evidence: { declaredAt: "_class_name", value: preview(JSON.stringify(cls), 200) },
    },
  ];
}

/**
 * open_clip's text tower from another repository (`hf_model_name`, `hf_tokenizer_name`).
 * @param root - the parsed `open_clip_config.json`
 */
export function openClipTowers(root: JsonObject): LoaderReference[] {
  const cfg = root.get("model_cfg");
  const text = cfg instanceof JsonObject ? cfg.get("text_cfg") : undefined;
  if (!(text instanceof JsonObject)) return [];
  const out: LoaderReference[] = [];
  for (const key of ["hf_model_name", "hf_tokenizer_name"]) {
    const v = text.get(key);
    if (typeof v !== "string" || v === "") continue;
    out.push({
      ruleId: "repo/external-model",
      message: `model_cfg.text_cfg.${key} is "${preview(v, 120)}": open_clip loads that repository's ${key === "hf_model_name" ? "model" : "tokenizer"}, which is not part of this scan`,
      evidence: { declaredAt: `model_cfg.text_cfg.${key}`, path: preview(v, 120), class: "" },
    });
  }
  return out;
}
