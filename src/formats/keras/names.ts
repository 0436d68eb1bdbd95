/**
 * Judges the full name of a serialized Keras object (`module` + `.` + the function a
 * `class_name: "function"` names, or + the class): Keras imports the module and calls what it
 * finds there, so a name under Keras or TensorFlow is not benign because of its root. Allowlist
 * first: under the strict roots a function must come from a namespace that computes on tensors and
 * a class must be a known Keras class; known-dangerous names (file I/O, code loading, safe-mode
 * state, outside SavedModels) are judged under every Keras root.
 * @module
 */
import {
  BENIGN_FUNCTION_SEGMENTS,
  DANGEROUS_KERAS_NAMES,
  type DangerousKerasName,
  EXTERNAL_MODEL_CLASSES,
  KERAS_CLASSES,
  STRICT_MODULE_ROOTS,
  WRAPPER_SEGMENTS,
} from "./classes.js";

/** What a name is. */
export type KerasNameVerdict =
  | { readonly kind: "dangerous"; readonly name: string; readonly match: DangerousKerasName }
  | { readonly kind: "external-model"; readonly name: string }
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

/**
 * Judges one serialized object.
 * @param module - its `module` (undefined when the config has none: Keras 2, legacy `.h5`)
 * @param className - its `class_name`
 * @param fnName - the function named by `config` when `class_name` is `"function"`
 */
export function judgeKerasName(module: string | undefined, className: string, fnName?: string): KerasNameVerdict {
  const isFunction = className === "function" && fnName !== undefined;
  const leaf = isFunction ? fnName : className;
  const name = module === undefined || module === "" ? leaf : `${module}.${leaf}`;
  if (EXTERNAL_MODEL_CLASSES.has(leafName(leaf))) return { kind: "external-model", name };
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
