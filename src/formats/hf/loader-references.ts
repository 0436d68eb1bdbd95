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
 *   code, from another repository (`org/name`) or a community pipeline (a bare name); and its
 *   components `[library, Class]` whose library is not diffusers' own: a custom component's
 *   `<component>/<library>.py` of the repository, else an installed module the config chose;
 * - diffusers' `modular_model_index.json` components `[library, Class, spec]`: the spec's
 *   `type_hint` library is imported, its `pretrained_model_name_or_path` loaded (another repository);
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
/**
 * Most values visited looking for attention implementations: as many as the auto_map search
 * visits (the config parser's budgets bound a document well below it), so padding cannot push a
 * sub-config's kernel out of the walk.
 */
const MAX_KERNEL_NODES = 2_000_000;

/**
 * Hub kernels a `config.json` names as its attention implementation (`attn_implementation`,
 * `_attn_implementation`, at any depth: sub-configs such as `text_config`).
 * @param root - the parsed config
 */
export function attentionKernels(root: JsonObject): LoaderReference[] {
  const out: LoaderReference[] = [];
  let visited = 0;
  const walk = (v: JsonValue, path: string, depth: number): void => {
    if (out.length >= 20 || ++visited > MAX_KERNEL_NODES || depth > 512) return;
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
 * Subpackages of `diffusers.pipelines` (current and deprecated ones, as diffusers names them): a
 * component `[name, Class]` whose library is one of them loads diffusers' own code
 * (`is_pipeline_module`). Read off diffusers' source tree (Aug 2026).
 */
const DIFFUSERS_PIPELINE_MODULES: ReadonlySet<string> = new Set(
  (
    "ace_step allegro alt_diffusion amused animatediff anyflow audio_diffusion audioldm audioldm2 aura_flow " +
    "blip_diffusion bria bria_fibo chroma chronoedit cogvideo cogview3 cogview4 consisid consistency_models " +
    "controlnet controlnet_hunyuandit controlnet_sd3 controlnet_xs cosmos dance_diffusion ddim ddpm deepfloyd_if " +
    "deprecated diffusion_gemma dit dreamlite easyanimate ernie_image flux flux2 glm_image helios hidream_image " +
    "hunyuan_image hunyuan_video hunyuan_video1_5 hunyuandit i2vgen_xl ideogram4 joyimage kandinsky kandinsky2_2 " +
    "kandinsky3 kandinsky5 kolors krea2 latent_consistency_models latent_diffusion latent_diffusion_uncond latte " +
    "ledits_pp llada2 longcat_audio_dit longcat_image ltx ltx2 lucy lumina lumina2 marigold mochi motif_video " +
    "musicldm nucleusmoe_image omnigen ovis_image pag paint_by_example pia pixart_alpha pndm prx qwenimage " +
    "repaint sana sana_video score_sde_ve semantic_stable_diffusion shap_e skyreels_v2 spectrogram_diffusion " +
    "stable_audio stable_audio_3 stable_cascade stable_diffusion stable_diffusion_3 " +
    "stable_diffusion_attend_and_excite stable_diffusion_diffedit stable_diffusion_gligen stable_diffusion_ldm3d " +
    "stable_diffusion_panorama stable_diffusion_safe stable_diffusion_sag stable_diffusion_variants " +
    "stable_diffusion_xl stable_video_diffusion stochastic_karras_ve t2i_adapter text_to_video_synthesis unclip " +
    "unidiffuser versatile_diffusion visualcloze vq_diffusion wan wuerstchen z_image"
  ).split(" "),
);
/** Libraries diffusers loads components from itself (`LOADABLE_CLASSES`). */
const DIFFUSERS_COMPONENT_LIBRARIES: ReadonlySet<string> = new Set([
  "diffusers",
  "transformers",
  "onnxruntime.training",
]);

/** Whether a component library is diffusers' own code (a pipeline module) or a library it ships classes from. */
function ownLibrary(library: string): boolean {
  return DIFFUSERS_COMPONENT_LIBRARIES.has(library) || DIFFUSERS_PIPELINE_MODULES.has(library);
}

/** A diffusers component `[library, Class]` of a `model_index.json`. */
export interface DiffusersComponent {
  /** The component's key (`unet`), also its folder. */
  readonly name: string;
  /** The library it names (`my_unet`). */
  readonly library: string;
  /** The class it names. */
  readonly className: string;
  /**
   * Whether the library is diffusers' own or one it ships classes from (`diffusers`,
   * `transformers`, a `diffusers.pipelines` subpackage): listed only with `includeOwn`.
   */
  readonly own: boolean;
}

/**
 * Components of a diffusers `model_index.json` whose library diffusers would not take from its own
 * code: `DiffusionPipeline.from_pretrained` loads `<component>/<library>.py` of the repository when
 * that file exists (a custom component, remote code), and otherwise runs
 * `importlib.import_module(library)`, an installed module the repository chose. With
 * `includeOwn`, components naming diffusers' own libraries too (`own` set): diffusers looks for
 * `<component>/<library>.py` before it imports any library that is not a pipeline module of the
 * running version (`diffusers` and `transformers` included), and older versions know fewer
 * pipeline modules, so such a file of the repository may run whatever the library.
 * @param root - the parsed `model_index.json`
 * @param options - `includeOwn`: list the components of diffusers' own libraries as well
 */
export function diffusersComponents(
  root: JsonObject,
  options: { readonly includeOwn?: boolean } = {},
): DiffusersComponent[] {
  const out: DiffusersComponent[] = [];
  // every key is read (the JSON parser's budget bounds them): diffusers loads every component, so
  // none may be dropped before it is judged
  for (const [key, value] of root.entries) {
    if (key.startsWith("_") || !Array.isArray(value) || value.length !== 2) continue;
    const [library, cls] = value;
    // diffusers skips a component whose library or class is null (not saved with the pipeline).
    if (library === null || library === undefined || cls === null || cls === undefined) continue;
    const lib = typeof library === "string" ? library : JSON.stringify(library);
    const own = typeof library === "string" && ownLibrary(library);
    if (own && options.includeOwn !== true) continue;
    out.push({ name: key, library: lib, className: typeof cls === "string" ? cls : JSON.stringify(cls), own });
  }
  return out;
}

/**
 * The per-file finding for {@link diffusersComponents}: each names an import diffusers would make.
 * @param root - the parsed `model_index.json`
 */
export function diffusersComponentImports(root: JsonObject): LoaderReference[] {
  return diffusersComponents(root)
    .slice(0, 20)
    .map((c) => ({
      ruleId: "repo/installed-module-import" as const,
      message: `component "${preview(c.name, 80)}" names library "${preview(c.library, 120)}": diffusers loads ${preview(`${c.name}/${c.library}.py`, 160)} from the repository when it exists (a custom component), else imports the installed module "${preview(c.library, 120)}"; neither is diffusers' or transformers' own code`,
      evidence: {
        declaredAt: preview(c.name, 100),
        library: preview(c.library, 120),
        class: preview(c.className, 120),
      },
    }));
}

/** The Hub repository being scanned, to tell its own references from another repository's. */
export interface ScannedRepo {
  /** `owner/name`. */
  readonly repo: string;
  /** The revision asked for and the commit it resolved to. */
  readonly revisions: readonly string[];
}

/** Findings of one `modular_model_index.json`, at most (every entry is still read). */
const MAX_MODULAR_FINDINGS = 40;

/**
 * A component spec's `type_hint` as diffusers unpacks it (`lib_name, cls_name = type_hint`): a
 * pair, a mapping's two keys, or a two-character string.
 */
function typeHint(v: JsonValue | undefined): [JsonValue, JsonValue] | undefined {
  if (Array.isArray(v)) return v.length === 2 ? [v[0] ?? null, v[1] ?? null] : undefined;
  if (v instanceof JsonObject) {
    const keys = [...v.entries.keys()];
    return keys.length === 2 ? [keys[0] ?? null, keys[1] ?? null] : undefined;
  }
  if (typeof v === "string" && [...v].length === 2) {
    const [a = "", b = ""] = [...v];
    return [a, b];
  }
  return undefined;
}

/** Whether `name` (at `revision`) is the scanned repository at the scanned revision. */
function isScannedRepo(name: string, revision: JsonValue | undefined, self: ScannedRepo | undefined): boolean {
  if (self === undefined || name.toLowerCase() !== self.repo.toLowerCase()) return false;
  return (
    revision === undefined || revision === null || (typeof revision === "string" && self.revisions.includes(revision))
  );
}

/**
 * The components of a diffusers `modular_model_index.json`: `ModularPipeline` reads every
 * `[library, Class, spec]` entry (the first two are ignored), imports the spec's
 * `type_hint[0]` when the pipeline is built (`simple_get_class_obj`: a `diffusers.pipelines`
 * subpackage, else `importlib.import_module`), and `load_components()` calls `from_pretrained`
 * on `pretrained_model_name_or_path` (or the older `repo`): a repository other than the scanned
 * one (or a directory of the loading machine, a URL) was not part of this scan.
 * @param root - the parsed `modular_model_index.json`
 * @param self - the scanned Hub repository, when the scan read one
 */
export function modularComponents(root: JsonObject, self?: ScannedRepo): LoaderReference[] {
  const out: LoaderReference[] = [];
  // every entry is read (the JSON parser's budget bounds them): padding cannot push one out
  for (const [key, value] of root.entries) {
    if (out.length >= MAX_MODULAR_FINDINGS) break;
    if (!Array.isArray(value) || value.length !== 3) continue;
    const spec = value[2];
    if (!(spec instanceof JsonObject)) continue; // diffusers fails on anything but a dict
    const hint = typeHint(spec.get("type_hint"));
    const [library, cls] = hint ?? [null, null];
    if (typeof library === "string" && cls !== null && !ownLibrary(library)) {
      out.push({
        ruleId: "repo/installed-module-import",
        message: `modular component "${preview(key, 80)}" has type_hint library "${preview(library, 120)}": ModularPipeline imports that installed module when the pipeline is built (simple_get_class_obj); it is neither diffusers' nor transformers' own code`,
        evidence: { declaredAt: preview(key, 100), library: preview(library, 120), class: show(cls) },
      });
    }
    const named = spec.get("pretrained_model_name_or_path");
    const source = named === undefined || named === null ? spec.get("repo") : named;
    const revision = spec.get("revision");
    const sources = typeof source === "string" ? [source] : Array.isArray(source) ? source : [];
    for (const s of sources) {
      if (typeof s === "string" && isScannedRepo(s, revision, self)) continue;
      out.push({
        ruleId: "repo/external-model",
        message: `modular component "${preview(key, 80)}" is loaded from ${typeof s === "string" ? `"${preview(s, 120)}"` : show(s)}${typeof revision === "string" ? ` at revision "${preview(revision, 60)}"` : ""}: ModularPipeline.load_components() calls from_pretrained on it, another repository (or a path of the loading machine) that is not part of this scan`,
        evidence: {
          declaredAt: preview(key, 100),
          path: show(s),
          class: typeof cls === "string" ? preview(cls, 120) : show(cls),
        },
      });
      break;
    }
  }
  return out;
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
