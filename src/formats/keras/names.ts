/**
 * Judges the full name of a serialized Keras object (`module` + `.` + the function a
 * `class_name: "function"` names, or + the class): Keras imports the module and calls what it
 * finds there, so a name under Keras or TensorFlow is not benign because of its root. Allowlist
 * first: under the strict roots a function must come from a namespace that computes on tensors and
 * a class must be a known Keras class; known-dangerous names (file I/O, code loading, safe-mode
 * state, outside SavedModels) are judged under every Keras root. Objects that load a model from
 * outside the file (TFSMLayer, every `tensorflow_hub` object such as `hub.KerasLayer`, keras_hub
 * preset loaders) are judged first, with the loader that says where their config names the path.
 * @module
 */
import {
  BENIGN_FUNCTION_SEGMENTS,
  DANGEROUS_KERAS_NAMES,
  type DangerousKerasName,
  EXTERNAL_MODEL_CLASSES,
  type ExternalLoader,
  HUB_LOADER,
  HUB_ROOTS,
  KERAS_CLASSES,
  PRESET_LOADER,
  PRESET_LOADER_LEAF,
  PRESET_LOADER_SEGMENT,
  PRESET_ROOTS,
  STRICT_MODULE_ROOTS,
  TFSM_LOADER,
  WRAPPER_SEGMENTS,
} from "./classes.js";

/** What a name is. */
export type KerasNameVerdict =
  | { readonly kind: "dangerous"; readonly name: string; readonly match: DangerousKerasName }
  | { readonly kind: "external-model"; readonly name: string; readonly loader: ExternalLoader }
  | { readonly kind: "unlisted"; readonly name: string; readonly what: "function" | "class" }
  | { readonly kind: "ok" };

/** Longest module path judged (a longer one is judged by its first segments). */
const MAX_SEGMENTS = 64;

/** The last segment of a dotted name, or of a `package>name` registered name. */
export function leafName(name: string): string {
  const tail = name.slice(name.lastIndexOf(">") + 1);
  return tail.slice(tail.lastIndexOf(".") + 1);
}

/** The first dangerous pattern a full name matches. */
export function dangerousName(name: string): DangerousKerasName | undefined {
  return DANGEROUS_KERAS_NAMES.find((d) => d.pattern.test(name));
}

/** Whether a function in this module (root excluded) is from a namespace that only computes on tensors. */
function benignFunctionModule(segments: readonly string[], leaf: string): boolean {
  const rest = segments.slice(1, MAX_SEGMENTS).filter((s) => !WRAPPER_SEGMENTS.has(s));
  if (rest.length === 0) return false;
  // keras.applications.<model>.preprocess_input scales pixels; the rest of applications downloads weights
  if (rest[0] === "applications") return leaf === "preprocess_input";
  return rest.every((s) => BENIGN_FUNCTION_SEGMENTS.has(s) || /^[a-z_]+_metrics$/.test(s));
}

/** What else {@link judgeKerasName} may know of an object. */
export interface KerasNameContext {
  /** The package of its `registered_name` (`tensorflow_hub` of `tensorflow_hub>KerasLayer`). */
  readonly registeredPackage?: string | undefined;
  /** Its `config`. */
  readonly config?: unknown;
}

const rootOf = (dotted: string): string => dotted.split(/[.>]/)[0] ?? "";

/**
 * The loader of an object that loads a model from outside the file, if it is one: TFSMLayer whatever its module,
 * anything from `tensorflow_hub` (by module, registered package or a Keras 2 `tensorflow_hub>Name` class name), a
 * module-less `KerasLayer` whose config has a `handle` (legacy `.h5` of a hub model), and keras_hub/keras_nlp/keras_cv
 * names that load presets or outside checkpoints.
 */
export function externalLoader(
  module: string | undefined,
  leaf: string,
  context: KerasNameContext = {},
): ExternalLoader | undefined {
  const bare = leafName(leaf);
  if (EXTERNAL_MODEL_CLASSES.has(bare)) return TFSM_LOADER;
  const gt = leaf.indexOf(">");
  const packages = [module, context.registeredPackage, gt > 0 ? leaf.slice(0, gt) : undefined].filter(
    (p): p is string => p !== undefined && p !== "",
  );
  if (packages.some((p) => HUB_ROOTS.has(rootOf(p)))) return HUB_LOADER;
  const config = context.config;
  if (bare === "KerasLayer" && module === undefined && config !== null && typeof config === "object") {
    if (Object.hasOwn(config, "handle")) return HUB_LOADER;
  }
  if (module !== undefined && PRESET_ROOTS.has(rootOf(module))) {
    const segments = module.split(".").slice(1, MAX_SEGMENTS);
    if (PRESET_LOADER_LEAF.test(bare) || segments.some((s) => PRESET_LOADER_SEGMENT.test(s))) return PRESET_LOADER;
  }
  return undefined;
}

/**
 * Judges one serialized object.
 * @param module - its `module` (undefined when the config has none: Keras 2, legacy `.h5`)
 * @param className - its `class_name`
 * @param fnName - the function named by `config` when `class_name` is `"function"`
 * @param context - its registered package and config, for the outside-model loaders
 */
export function judgeKerasName(
  module: string | undefined,
  className: string,
  fnName?: string,
  context: KerasNameContext = {},
): KerasNameVerdict {
  const isFunction = className === "function" && fnName !== undefined;
  const leaf = isFunction ? fnName : className;
  const name = module === undefined || module === "" ? leaf : `${module}.${leaf}`;
  const loader = externalLoader(module, leaf, context);
  if (loader !== undefined) return { kind: "external-model", name, loader };
  if (module === undefined) return { kind: "ok" };
  const segments = module.split(".");
  const match = dangerousName(name);
  if (match !== undefined) return { kind: "dangerous", name, match };
  if (!STRICT_MODULE_ROOTS.has(segments[0] ?? "")) return { kind: "ok" };
  if (isFunction) {
    return benignFunctionModule(segments, leaf) ? { kind: "ok" } : { kind: "unlisted", name, what: "function" };
  }
  return KERAS_CLASSES.has(className) ? { kind: "ok" } : { kind: "unlisted", name, what: "class" };
}
