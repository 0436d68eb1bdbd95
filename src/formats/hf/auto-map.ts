/**
 * Remote-code references in Hugging Face configuration files: `auto_map` and `custom_pipelines`,
 * and the relative imports of the Python modules they name (as transformers resolves them).
 * @module
 */
import { JsonObject, type JsonValue } from "../../core/json.js";

/** One class reference that `trust_remote_code=True` would import. */
export interface CodeReference {
  /** Where it was declared (`auto_map.AutoModel`, `custom_pipelines.text-generation.impl`). */
  readonly declaredAt: string;
  /** The reference as written (`modeling_x.Model` or `org/repo--modeling_x.Model`). */
  readonly reference: string;
  /** Repository the code comes from, when it is another one. */
  readonly repo?: string;
  /** Module path relative to the model directory (`modeling_x.py`). */
  readonly moduleFile: string;
  /** Class name. */
  readonly className: string;
}

/** Config file names that can carry `auto_map`. */
export const AUTO_MAP_FILES: ReadonlySet<string> = new Set([
  "config.json",
  "tokenizer_config.json",
  "processor_config.json",
  "preprocessor_config.json",
  "feature_extractor_config.json",
  "image_processor_config.json",
  "video_preprocessor_config.json",
]);

/**
 * Parses one reference string.
 * @param declaredAt - where it was found
 * @param value - `module.Class` or `repo--module.Class`
 */
export function parseReference(declaredAt: string, value: string): CodeReference | undefined {
  let rest = value.trim();
  let repo: string | undefined;
  const sep = rest.indexOf("--");
  if (sep >= 0) {
    repo = rest.slice(0, sep);
    rest = rest.slice(sep + 2);
  }
  const dot = rest.lastIndexOf(".");
  if (dot <= 0 || dot === rest.length - 1) return undefined;
  const module = rest.slice(0, dot);
  return {
    declaredAt,
    reference: value,
    ...(repo === undefined ? {} : { repo }),
    moduleFile: `${module.split(".").join("/")}.py`,
    className: rest.slice(dot + 1),
  };
}

/**
 * Every code reference in a parsed configuration.
 * @param root - the parsed JSON
 */
export function codeReferences(root: JsonValue): CodeReference[] {
  if (!(root instanceof JsonObject)) return [];
  const out: CodeReference[] = [];
  const take = (at: string, v: JsonValue | undefined): void => {
    if (typeof v === "string") {
      const ref = parseReference(at, v);
      if (ref !== undefined) out.push(ref);
    } else if (Array.isArray(v)) {
      v.forEach((item, i) => {
        take(`${at}[${i}]`, item);
      });
    }
  };
  const autoMap = root.get("auto_map");
  if (autoMap instanceof JsonObject) {
    for (const [k, v] of autoMap.entries) take(`auto_map.${k}`, v);
  } else if (Array.isArray(autoMap)) {
    take("auto_map", autoMap);
  }
  const pipelines = root.get("custom_pipelines");
  if (pipelines instanceof JsonObject) {
    for (const [task, def] of pipelines.entries) {
      if (def instanceof JsonObject) take(`custom_pipelines.${task}.impl`, def.get("impl"));
    }
  }
  return out.slice(0, 200);
}

/**
 * Relative imports of a Python module (`from .x import y`, `import .x`), as file paths relative to
 * the module's directory. Package-relative forms with more dots climb directories.
 * @param source - module source
 */
export function relativeImports(source: string): string[] {
  const out = new Set<string>();
  for (const m of source.matchAll(/^[ \t]*(?:from[ \t]+(\.+)([\w.]*)[ \t]+import\b|import[ \t]+(\.+)([\w.]+))/gm)) {
    const dots = m[1] ?? m[3] ?? ".";
    const name = m[2] ?? m[4] ?? "";
    if (name === "") continue;
    const up = "../".repeat(dots.length - 1);
    out.add(`${up}${name.split(".").join("/")}.py`);
    if (out.size >= 100) break;
  }
  return [...out];
}
