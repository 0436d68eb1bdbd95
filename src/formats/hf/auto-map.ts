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
  // diffusers' modular pipelines (ModularPipelineBlocks.from_pretrained reads its auto_map)
  "modular_config.json",
]);

/**
 * A value where a class reference is expected that modelgate cannot read as `module.Class`
 * (no dot, a number, an unexpected shape): a loader may still import something from it, so it
 * is reported, never ignored.
 */
export interface UnreadReference {
  /** Where it was declared. */
  readonly declaredAt: string;
  /** The value, shortened, as JSON. */
  readonly value: string;
  /** Why it could not be read. */
  readonly why: string;
}

/** Code references and unreadable values of one configuration. */
export interface References {
  readonly refs: CodeReference[];
  readonly unread: UnreadReference[];
  /**
   * The budget that stopped the collection before every value was read (`hf.autoMapReferences`,
   * `hf.autoMapSearchNodes`): what lies past it was never judged, so the file cannot be clean.
   */
  readonly overflow?: string;
}

/** Most references (and unreadable values) kept per file; past it the collection overflows. */
const MAX_REFERENCES = 200;
/** Deepest nesting of a value under one `auto_map` key that is followed. */
const MAX_VALUE_DEPTH = 8;
/**
 * Deepest nesting of objects searched for `auto_map` keys: the config parser's own depth budget
 * (512), so every document that parses is searched whole (deeper: the collection overflows).
 */
const MAX_SEARCH_DEPTH = 512;
/** Most values visited searching a file for `auto_map` keys (more: the collection overflows). */
const MAX_SEARCH_NODES = 2_000_000;

/**
 * Parses one reference string as `transformers.dynamic_module_utils.get_class_from_dynamic_module`
 * does: the part before `--` is another repository, the rest `module.Class`. Nothing is trimmed
 * (transformers imports `" m.py"` for `" m.X"`). A value ending in a dot still imports its module
 * (the class name is empty and the lookup fails only after the import).
 * @param declaredAt - where it was found
 * @param value - `module.Class` or `repo--module.Class`
 * @returns the reference, or undefined when no module name can be read (no dot)
 */
export function parseReference(declaredAt: string, value: string): CodeReference | undefined {
  let rest = value;
  let repo: string | undefined;
  const sep = rest.indexOf("--");
  if (sep >= 0) {
    repo = rest.slice(0, sep);
    rest = rest.slice(sep + 2);
  }
  const dot = rest.lastIndexOf(".");
  if (dot < 0) return undefined;
  const module = rest.slice(0, dot);
  return {
    declaredAt,
    reference: value,
    ...(repo === undefined ? {} : { repo }),
    moduleFile: `${module.split(".").join("/")}.py`,
    className: rest.slice(dot + 1),
  };
}

/** A JSON value as a short string, for evidence. */
function show(v: JsonValue): string {
  if (typeof v === "string") return JSON.stringify(v.slice(0, 120));
  if (v instanceof JsonObject) return "{…}";
  if (Array.isArray(v)) return "[…]";
  return String(v);
}

/** Collects references from one value: strings, lists (nulls skipped), dicts, nested. */
class Collector {
  readonly refs: CodeReference[] = [];
  readonly unread: UnreadReference[] = [];
  /** The budget that stopped the collection, if one did. */
  overflow: string | undefined;
  /** References to other repositories kept past {@link MAX_REFERENCES}. */
  #externalPast = 0;

  /** Nothing more can be kept (and what was dropped made the collection overflow). */
  get full(): boolean {
    return this.overflow !== undefined && this.#externalPast >= MAX_REFERENCES;
  }

  /**
   * Keeps one value: every value below {@link MAX_REFERENCES}; past it, references to other
   * repositories (the worst judgement) up to as many again. Anything else past the cap sets the
   * overflow (the file cannot be clean), never dropped silently.
   */
  #keep(ref: CodeReference | undefined, unread: UnreadReference | undefined): void {
    if (this.refs.length + this.unread.length < MAX_REFERENCES) {
      if (ref !== undefined) this.refs.push(ref);
      else if (unread !== undefined) this.unread.push(unread);
    } else if (ref?.repo !== undefined && this.#externalPast < MAX_REFERENCES) {
      this.#externalPast++;
      this.refs.push(ref);
    } else this.overflow ??= "hf.autoMapReferences";
  }

  /**
   * @param at - where the value is
   * @param v - the value
   * @param what - what the value should be, for messages
   * @param depth - nesting below the declaring key
   */
  take(at: string, v: JsonValue | undefined, what = "module.Class", depth = 0): void {
    if (v === undefined || v === null || this.full) return;
    if (depth > MAX_VALUE_DEPTH) {
      this.#keep(undefined, { declaredAt: at, value: show(v), why: "nested too deeply to follow" });
    } else if (typeof v === "string") {
      const ref = parseReference(at, v);
      this.#keep(
        ref,
        ref === undefined ? { declaredAt: at, value: show(v), why: `not of the form ${what}` } : undefined,
      );
    } else if (Array.isArray(v)) {
      v.forEach((item, i) => {
        this.take(`${at}[${i}]`, item, what, depth + 1);
      });
    } else if (v instanceof JsonObject) {
      for (const [k, item] of v.entries) this.take(`${at}.${k}`, item, what, depth + 1);
    } else {
      this.#keep(undefined, {
        declaredAt: at,
        value: show(v),
        why: `a ${typeof v === "boolean" ? "boolean" : "number"}`,
      });
    }
  }

  result(): References {
    return {
      refs: this.refs,
      unread: this.unread,
      ...(this.overflow === undefined ? {} : { overflow: this.overflow }),
    };
  }
}

/**
 * Every code reference in a parsed configuration, with the values that could not be read. An
 * `auto_map` is looked for at any depth: transformers reads the ones of processor sub-configs
 * (`processor_config.json` `image_processor`, `feature_extractor`, `video_processor`), and a value
 * may be a string, a `[slow, fast]` list or a `{backend: ref}` dict (`image_processing_auto`).
 * @param root - the parsed JSON
 */
export function collectReferences(root: JsonValue): References {
  const c = new Collector();
  if (!(root instanceof JsonObject)) return c.result();
  let visited = 0;
  const search = (v: JsonValue, path: string, depth: number): void => {
    if (c.full) return;
    if (++visited > MAX_SEARCH_NODES) {
      c.overflow ??= "hf.autoMapSearchNodes";
      return;
    }
    if (depth > MAX_SEARCH_DEPTH) {
      c.overflow ??= "hf.autoMapSearchDepth";
      return;
    }
    if (v instanceof JsonObject) {
      for (const [k, item] of v.entries) {
        if (k === "auto_map") c.take(`${path}auto_map`, item);
        else if (item instanceof JsonObject || Array.isArray(item)) search(item, `${path}${k}.`, depth + 1);
      }
    } else if (Array.isArray(v)) {
      v.forEach((item, i) => {
        if (item instanceof JsonObject || Array.isArray(item))
          search(item, `${path.replace(/\.$/, "")}[${i}].`, depth + 1);
      });
    }
  };
  search(root, "", 0);
  const pipelines = root.get("custom_pipelines");
  if (pipelines instanceof JsonObject) {
    for (const [task, def] of pipelines.entries) {
      if (def instanceof JsonObject) c.take(`custom_pipelines.${task}.impl`, def.get("impl"));
    }
  }
  return c.result();
}

/**
 * Every code reference in a parsed configuration (see {@link collectReferences}).
 * @param root - the parsed JSON
 */
export function codeReferences(root: JsonValue): CodeReference[] {
  return collectReferences(root).refs;
}

/** The module path of classes sentence-transformers ships (imported without remote code). */
const ST_BUILTIN = "sentence_transformers.";

/**
 * Class references in sentence-transformers files: each `type` of `modules.json` (a list of
 * `{idx, name, path, type}`), the `types` of a Router's `router_config.json`, and the
 * `tokenizer_class` of `wordembedding_config.json`. sentence-transformers imports a type outside
 * `sentence_transformers.*` through `get_class_from_dynamic_module` (so `repo--module.Class`
 * fetches another repository), falling back to importing it as an installed module.
 * @param fileName - the file's base name, lower case
 * @param root - the parsed JSON
 * @returns the references, or undefined when the file is not one of these
 */
export function sentenceTransformersReferences(fileName: string, root: JsonValue): References | undefined {
  const c = new Collector();
  const take = (at: string, v: JsonValue | undefined): void => {
    if (typeof v === "string" && v.startsWith(ST_BUILTIN)) return;
    c.take(at, v, "a dotted class path");
  };
  if (fileName === "modules.json") {
    if (!Array.isArray(root)) {
      if (root instanceof JsonObject) c.unread.push({ declaredAt: "modules", value: "{…}", why: "not a list" });
      return c.result();
    }
    root.forEach((item, i) => {
      if (item instanceof JsonObject) take(`modules[${i}].type`, item.get("type"));
    });
    return c.result();
  }
  if (!(root instanceof JsonObject)) return undefined;
  if (fileName === "router_config.json") {
    const types = root.get("types");
    if (types instanceof JsonObject) for (const [k, v] of types.entries) take(`types.${k}`, v);
    else if (types !== undefined) take("types", types);
    return c.result();
  }
  if (fileName === "wordembedding_config.json") {
    take("tokenizer_class", root.get("tokenizer_class"));
    return c.result();
  }
  return undefined;
}

/** sentence-transformers files that name classes to import. */
export const SENTENCE_TRANSFORMERS_FILES: ReadonlySet<string> = new Set([
  "modules.json",
  "router_config.json",
  "wordembedding_config.json",
]);

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
    // no cap: the module's size bounds the matches, and the caller budgets the modules it follows
    out.add(`${up}${name.split(".").join("/")}.py`);
  }
  return [...out];
}
