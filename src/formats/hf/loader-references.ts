/**
 * Other things a Hugging Face loader fetches or imports because a config names them, outside
 * `auto_map`:
 * - PEFT `adapter_config.json` `auto_mapping` (`{base_model_class, parent_library}`): with no
 *   `task_type`, `AutoPeftModel.from_pretrained` runs `importlib.import_module(parent_library)` and
 *   calls `getattr(module, base_model_class).from_pretrained(...)`, so the repository chooses an
 *   installed module to import and a class whose `from_pretrained` runs;
 * - a processor's `audio_tokenizer` (`{audio_tokenizer_class, audio_tokenizer_name_or_path}`):
 *   `ProcessorMixin.from_pretrained` loads that path with `AutoModel.from_pretrained`, a model from
 *   another repository (or a directory of the loading machine), which this scan did not see.
 * @module
 */
import { JsonObject, type JsonValue } from "../../core/json.js";
import { preview } from "../../core/preview.js";

/** One thing reported by this module. */
export interface LoaderReference {
  readonly ruleId: "repo/installed-module-import" | "repo/external-model";
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
