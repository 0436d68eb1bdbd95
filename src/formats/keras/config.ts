/**
 * Static analysis of a Keras model configuration (`config.json` of a `.keras` archive, the
 * `model_config` attribute of a legacy `.h5`, the layer metadata of a SavedModel). It walks the
 * JSON tree and reports what would make `load_model` run code: Lambda bytecode, modules outside
 * Keras, TFOpLambda calls, pickled Torch modules, `get_file` and safe-mode bypasses. Values the
 * loaders decode before a layer sees them (tf-keras `__tuple__`, the code strings `func_load`
 * reads) are judged as decoded: see loader-decoding.ts. Every serialized object's full name
 * (`module` + function or class, `registered_name`, a legacy class name) is judged by names.ts:
 * a root under Keras or TensorFlow does not make a name benign (TFSMLayer, file I/O, func_load).
 * Objects that load a model from outside the file (TFSMLayer, `hub.KerasLayer` and every
 * `tensorflow_hub` name, keras_hub preset loaders) are reported with the path or URL their config
 * names; tokenizer files named by path (keras_hub/keras_nlp) like lookup vocabularies.
 * @module
 */
import { ModelgateError } from "../../core/errors.js";
import { type FindingInput, FindingList } from "../../core/findings.js";
import { pathLeavesFolder } from "../dvc/paths.js";
import { parseConfigJsonPlain } from "../hf/text.js";
import { dangerousNames, parseMarshal } from "../marshal/marshal.js";
import {
  DANGEROUS_MODULE_ROOTS,
  DANGEROUS_TF_FUNCTION,
  type ExternalLoader,
  KERAS_CLASSES,
  KERAS_MODULE_ROOTS,
  PRESET_ROOTS,
  TOKENIZER_FILE_KEYS,
} from "./classes.js";
import {
  decodeLegacyJson,
  funcLoadBytes,
  isAscii,
  type Json,
  makeTick,
  pythonBase64Decode,
  type Tick,
} from "./loader-decoding.js";
import { dangerousName, externalLoader, judgeKerasName, type KerasNameContext, leafName } from "./names.js";

/** Budgets of {@link analyzeKerasConfig}. */
export interface KerasConfigBudgets {
  /** Maximum JSON nesting walked. */
  maxDepth: number;
  /** Maximum JSON values walked. */
  maxNodes: number;
  /** Maximum findings reported per rule and severity (the rest are counted in one more finding). */
  maxFindings: number;
}

/** Default budgets. */
export const DEFAULT_KERAS_CONFIG_BUDGETS: Readonly<KerasConfigBudgets> = Object.freeze({
  maxDepth: 512,
  maxNodes: 5_000_000,
  maxFindings: 200,
});

/** A payload embedded in the config that should be scanned as a member (a pickled Torch module). */
export interface EmbeddedPayload {
  /** Member name to report it under. */
  readonly name: string;
  /** The decoded bytes. */
  readonly bytes: Uint8Array;
}

/** What the config analysis found. */
export interface KerasConfigResult {
  /** Findings (rule ids of the keras area). */
  readonly findings: FindingInput[];
  /** Payloads to scan as members. */
  readonly payloads: EmbeddedPayload[];
  /** Facts: model class, layer counts, Keras version. */
  readonly facts: Record<string, unknown>;
}

const isObject = (v: unknown): v is Record<string, Json> => v !== null && typeof v === "object" && !Array.isArray(v);
const short = (s: string, n = 200) => (s.length > n ? `${s.slice(0, n)}…` : s);

/**
 * A file a config names, as a finding's message tail and severity: high when it points outside
 * the model, by the check every format shares (a URL or URI, a drive letter, an absolute, UNC or
 * home path, `..` climbing out).
 */
function fileTarget(path: string): { tail: string; severity?: "high" } {
  const reason = pathLeavesFolder(path);
  return reason === undefined ? { tail: "" } : { tail: ` (${reason}, outside the model)`, severity: "high" };
}

/** Decodes base64 as Python's `base64.b64decode(text.encode("ascii"))` does (lenient binascii). */
function decodeBase64(text: string): Uint8Array | undefined {
  return isAscii(text) ? pythonBase64Decode(text) : undefined;
}

/** A short description of a JSON value's shape, for messages. */
function shapeOf(value: Json): string {
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (isObject(value))
    return typeof value.class_name === "string" ? `a ${short(value.class_name, 60)} object` : "an object";
  return value === null ? "null" : `a ${typeof value}`;
}

/**
 * Lambda slots: the value key, the key of its Keras 2 type (`lambda`, `function`, `raw`) and the key of the
 * module whose names a `function` type is looked up in.
 */
const LAMBDA_SLOTS = [
  ["function", "function_type", "module"],
  ["output_shape", "output_shape_type", "output_shape_module"],
  ["mask", "mask_type", "mask_module"],
] as const;

class ConfigWalker {
  readonly payloads: EmbeddedPayload[] = [];
  readonly layerTypes = new Map<string, number>();
  readonly #seen = new Set<string>();
  readonly #findings: FindingList;
  readonly #tick: Tick;
  #reported = 0;

  constructor(
    readonly budgets: KerasConfigBudgets,
    readonly where: string,
  ) {
    this.#findings = new FindingList(budgets.maxFindings);
    this.#tick = makeTick(budgets.maxNodes, budgets.maxDepth);
  }

  /** A slot's value as the loader decodes it (tf-keras `__tuple__` ...), counted in the budgets. */
  decode(value: Json, depth: number): Json {
    return decodeLegacyJson(value, this.#tick, depth);
  }

  report(key: string, finding: FindingInput): void {
    if (this.#seen.has(key)) return;
    this.#seen.add(key);
    this.#reported++;
    this.#findings.add(finding);
  }

  /** The findings kept, then one summary per rule that went over the cap. */
  get findings(): FindingInput[] {
    return this.#findings.list();
  }

  /** Findings over the cap (counted in the summaries). */
  get dropped(): number {
    return this.#reported - this.#findings.kept.length;
  }

  walk(value: Json, path: string, depth: number): void {
    this.#tick(depth);
    if (typeof value === "string") {
      this.string(value, path);
      return;
    }
    if (Array.isArray(value)) {
      value.forEach((item, i) => {
        this.walk(item, `${path}[${i}]`, depth + 1);
      });
      return;
    }
    if (!isObject(value)) return;
    this.object(value, path, depth);
    for (const [key, child] of Object.entries(value)) {
      if (key === "safe_mode") {
        this.report(`safe:${path}`, {
          ruleId: "keras/safe-mode-bypass",
          message: `the config sets safe_mode at ${short(path)}`,
          evidence: { path: short(path, 400), value: JSON.stringify(child).slice(0, 100) },
        });
      }
      this.walk(child, `${path}.${key}`, depth + 1);
    }
  }

  string(value: string, path: string): void {
    if (value.includes("enable_unsafe_deserialization")) {
      this.report(`unsafe:${value}`, {
        ruleId: "keras/safe-mode-bypass",
        message: `the config references enable_unsafe_deserialization at ${short(path)}`,
        evidence: { path: short(path, 400), value: short(value) },
      });
    }
    if (value === "set_global_attribute" || value.endsWith(".set_global_attribute")) {
      // keyed by the object holding it, as the same name judged there (judgeName) is
      this.report(`setglobal:${path.replace(/\.config$/, "")}`, {
        ruleId: "keras/safe-mode-bypass",
        message: `the config references Keras's set_global_attribute (safe_mode_saving) at ${short(path)}`,
        evidence: { path: short(path, 400), value: short(value) },
      });
    }
    if (value === "get_file" || value.endsWith(".get_file")) {
      this.report(`get_file:${path}`, {
        ruleId: "keras/get-file",
        message: `the config references get_file at ${short(path)}`,
        evidence: { path: short(path, 400), value: short(value) },
      });
    }
  }

  object(o: Record<string, Json>, path: string, depth: number): void {
    const cls = typeof o.class_name === "string" ? o.class_name : undefined;
    const module = typeof o.module === "string" ? o.module : undefined;
    const registered = typeof o.registered_name === "string" ? o.registered_name : undefined;
    const config = o.config;
    const layerName = isObject(config) && typeof config.name === "string" ? config.name : (o.name ?? "");
    const evidence = {
      path: short(path, 400),
      className: short(cls ?? ""),
      layer: short(String(layerName)),
    };
    if (cls !== undefined && /\.layers\[\d+\]$/.test(path)) {
      this.layerTypes.set(cls, (this.layerTypes.get(cls) ?? 0) + 1);
    }
    if (module !== undefined && cls !== undefined) {
      const root = module.split(".")[0] ?? "";
      if (!KERAS_MODULE_ROOTS.has(root)) {
        const dangerous = DANGEROUS_MODULE_ROOTS.has(root);
        this.report(`module:${module}:${cls}:${JSON.stringify(config)?.slice(0, 100)}`, {
          ruleId: "keras/foreign-module",
          message: `the config imports ${short(module)}${cls ? ` to build ${short(cls)}` : ""}${typeof config === "string" ? ` (${short(config)})` : ""}`,
          evidence: { ...evidence, module: short(module), config: typeof config === "string" ? short(config) : null },
          ...(dangerous ? { severity: "critical" as const } : {}),
        });
      }
    }
    const registeredPackage = registered?.includes(">") ? registered.split(">")[0] : undefined;
    if (cls !== undefined && (module === undefined || KERAS_MODULE_ROOTS.has(module.split(".")[0] ?? ""))) {
      const fn = cls === "function" && typeof config === "string" ? config : undefined;
      this.judgeName(module, cls, fn, o, path, evidence, { registeredPackage, config });
    }
    if (registered !== undefined && registered !== cls && registered !== "function") {
      this.judgeName(undefined, leafName(registered), undefined, o, path, evidence, { registeredPackage, config });
    }
    if (cls !== undefined && isObject(config) && /Tokenizer$/.test(leafName(cls))) {
      const pkg = module ?? registeredPackage ?? (cls.includes(">") ? cls.split(">")[0] : undefined);
      if (pkg === undefined || PRESET_ROOTS.has(pkg.split(".")[0] ?? "")) this.tokenizerFiles(config, cls, evidence);
    }
    if (registered?.includes(">")) {
      const pkg = registered.split(">")[0] ?? "";
      if (!KERAS_MODULE_ROOTS.has(pkg.split(".")[0] ?? "") && pkg !== "keras") {
        this.report(`registered:${registered}`, {
          ruleId: "keras/custom-object",
          message: `the config needs the registered custom object ${short(registered)}`,
          evidence: { ...evidence, registeredName: short(registered) },
        });
      }
    }
    if (cls === undefined) return;
    if (cls === "function" && typeof config === "string") {
      if (config === "enable_unsafe_deserialization") {
        this.report(`unsafe-fn:${path}`, {
          ruleId: "keras/safe-mode-bypass",
          message: "the config calls keras.config.enable_unsafe_deserialization",
          evidence: { ...evidence, module: module ?? null },
        });
      }
    }
    switch (cls) {
      case "Lambda":
        if (isObject(config)) {
          for (const [key, typeKey, moduleKey] of LAMBDA_SLOTS) {
            const value = config[key];
            if (value === undefined || value === null) continue;
            const fnModule = typeof config[moduleKey] === "string" ? (config[moduleKey] as string) : undefined;
            const decoded = this.decode(value, depth + 2);
            this.lambdaFunction(decoded, config[typeKey], `${path}.config.${key}`, evidence, fnModule);
          }
        }
        return;
      case "__lambda__":
        this.kerasLambda(config, path, depth, evidence);
        return;
      case "TFOpLambda":
      case "SlicingOpLambda": {
        const raw = isObject(config) ? config.function : undefined;
        const decoded = raw === undefined || raw === null ? null : this.decode(raw, depth + 2);
        if (decoded !== null && typeof decoded !== "string") {
          // get_symbol_from_name needs a name: anything else is not what Keras writes
          this.report(`tfop-shape:${path}`, {
            ruleId: "keras/tfoplambda",
            message: `${cls} layer ${short(String(layerName))} names its function with ${shapeOf(decoded)}, not a tf.* name`,
            evidence: { ...evidence, function: short(JSON.stringify(raw) ?? "") },
            severity: "medium",
          });
          return;
        }
        const fn = decoded ?? "";
        const bad = DANGEROUS_TF_FUNCTION.test(fn) || dangerousName(`tensorflow.${fn}`) !== undefined;
        this.report(`tfop:${fn}:${bad}`, {
          ruleId: "keras/tfoplambda",
          message: `${cls} layer ${short(String(layerName))} calls tf.${short(fn)}`,
          evidence: { ...evidence, function: short(fn) },
          severity: bad ? "high" : "low",
        });
        return;
      }
      case "TorchModuleWrapper": {
        const encoded = isObject(config) && typeof config.module === "string" ? config.module : undefined;
        const bytes = encoded === undefined ? undefined : decodeBase64(encoded);
        this.report(`torch:${path}`, {
          ruleId: "keras/torch-module-wrapper",
          message: `TorchModuleWrapper layer ${short(String(layerName))} embeds a pickled torch module${bytes ? ` (${bytes.length} bytes, scanned as a member)` : ""}`,
          evidence: { ...evidence, payloadBytes: bytes?.length ?? 0 },
        });
        if (bytes !== undefined && bytes.length > 0) {
          this.payloads.push({ name: `${this.where}:${String(layerName) || "TorchModuleWrapper"}.module`, bytes });
        }
        return;
      }
      case "StringLookup":
      case "IntegerLookup":
      case "TextVectorization": {
        const vocab = isObject(config) ? config.vocabulary : undefined;
        if (typeof vocab === "string" && vocab.length > 0) {
          const target = fileTarget(vocab);
          this.report(`vocab:${vocab}`, {
            ruleId: "keras/vocabulary-file",
            message: `${cls} layer ${short(String(layerName))} reads its vocabulary from ${JSON.stringify(short(vocab))}${target.tail}`,
            evidence: { ...evidence, vocabulary: short(vocab, 400) },
            ...(target.severity === undefined ? {} : { severity: target.severity }),
          });
        }
        return;
      }
    }
    if (!KERAS_CLASSES.has(cls) && module === undefined) {
      this.report(`class:${cls}`, {
        ruleId: "keras/custom-object",
        message: `the config uses class ${short(cls)}, which Keras does not define`,
        evidence,
      });
    }
  }

  /**
   * A keras_hub/keras_nlp tokenizer (WordPiece, BytePair, SentencePiece and the model tokenizers built on them)
   * whose `vocabulary`, `merges` or `proto` is a string: the constructor reads it as a file through `tf.io.gfile`.
   */
  tokenizerFiles(config: Record<string, Json>, cls: string, evidence: Record<string, string>): void {
    for (const key of TOKENIZER_FILE_KEYS) {
      const file = config[key];
      if (typeof file !== "string" || file.length === 0) continue;
      const target = fileTarget(file);
      this.report(`tokenizer:${key}:${file}`, {
        ruleId: "keras/vocabulary-file",
        message: `${short(cls, 80)} ${short(evidence.layer ?? "", 80)} reads its ${key} from ${JSON.stringify(short(file))}${target.tail}`,
        evidence: { ...evidence, key, vocabulary: short(file, 400) },
        ...(target.severity === undefined ? {} : { severity: target.severity }),
      });
    }
  }

  /** An object that loads a model from outside the file, reported with the path or URL its config names. */
  external(
    loader: ExternalLoader,
    name: string,
    o: Record<string, Json>,
    path: string,
    evidence: Record<string, string>,
  ): void {
    const config = isObject(o.config) ? o.config : undefined;
    const key = loader.pathKeys.find((k) => config?.[k] !== undefined && config[k] !== null);
    const target = key === undefined ? null : (config?.[key] ?? null);
    const where = target === null ? "a path given at call time" : short(JSON.stringify(target) ?? "");
    this.report(`external:${path}`, {
      ruleId: loader.ruleId,
      message: `the config builds ${short(name)} at ${short(path)}, which loads ${loader.what} ${where}`,
      evidence: { ...evidence, name: short(name, 400), [loader.evidenceKey]: short(JSON.stringify(target), 400) },
    });
  }

  /**
   * Judges the full name an object resolves to (names.ts): dangerous names are high or critical,
   * `TFSMLayer` high with its path, names under Keras/TensorFlow that are not listed as benign medium.
   */
  judgeName(
    module: string | undefined,
    cls: string,
    fn: string | undefined,
    o: Record<string, Json>,
    path: string,
    evidence: Record<string, string>,
    context: KerasNameContext = {},
  ): void {
    const verdict = judgeKerasName(module, cls, fn, context);
    switch (verdict.kind) {
      case "ok":
        return;
      case "dangerous":
        this.report(
          verdict.match.ruleId === "keras/safe-mode-bypass" ? `setglobal:${path}` : `name:${path}:${verdict.name}`,
          {
            ruleId: verdict.match.ruleId,
            message: `the config calls ${short(verdict.name)} at ${short(path)}, which ${verdict.match.why}`,
            evidence: { ...evidence, name: short(verdict.name, 400) },
            severity: verdict.match.severity,
          },
        );
        return;
      case "external-model":
        this.external(verdict.loader, verdict.name, o, path, evidence);
        return;
      case "unlisted":
        this.report(`unlisted:${path}:${verdict.name}`, {
          ruleId: "keras/unlisted-object",
          message: `the config names the ${verdict.what} ${short(verdict.name)} at ${short(path)}, outside the Keras/TensorFlow namespaces known to only compute on tensors`,
          evidence: { ...evidence, name: short(verdict.name, 400) },
        });
        return;
    }
  }

  /**
   * A Lambda `function`/`output_shape`/`mask` (already decoded as the loader decodes it). Keras 2
   * reads it by its `*_type`: `lambda` is `func_load` of `[code, defaults, closure]` or of a code
   * string, `function` a name (or object) resolved at load, `raw` plain data. Without a type (Keras
   * 3 writes none) or with one Keras 2 rejects, a list is still read as `func_load` would.
   */
  lambdaFunction(
    value: Json,
    type: Json | undefined,
    path: string,
    evidence: Record<string, string>,
    fnModule?: string,
  ): void {
    if (value === null) return;
    const kind = typeof type === "string" ? type : undefined;
    if (kind === "function" || (kind === "raw" && typeof value === "string")) {
      const name = typeof value === "string" ? value : short(JSON.stringify(value) ?? "");
      if (kind === "function" && typeof value === "string") {
        // Keras 2 looks the name up in the globals of `module` (when imported): judge the full name
        const full = fnModule === undefined || fnModule === "" ? value : `${fnModule}.${value}`;
        const loader = fnModule === undefined || fnModule === "" ? undefined : externalLoader(fnModule, value);
        if (loader !== undefined) {
          this.report(`external:${path}`, {
            ruleId: loader.ruleId,
            message: `Lambda layer ${evidence.layer} calls ${short(full)}, which loads ${loader.what} a path given at call time`,
            evidence: { ...evidence, path: short(path, 400), name: short(full, 400), [loader.evidenceKey]: "null" },
          });
        }
        const match = dangerousName(full);
        if (match !== undefined) {
          this.report(`name:${path}:${full}`, {
            ruleId: match.ruleId,
            message: `Lambda layer ${evidence.layer} calls ${short(full)}, which ${match.why}`,
            evidence: { ...evidence, path: short(path, 400), name: short(full, 400) },
            severity: match.severity,
          });
        }
      }
      this.report(`lambda-name:${name}`, {
        ruleId: "keras/lambda-layer",
        message:
          typeof value === "string"
            ? `Lambda layer ${evidence.layer} calls the function ${JSON.stringify(short(value))} resolved by name at load`
            : `Lambda layer ${evidence.layer} stores its function as ${shapeOf(value)}, deserialized by name at load`,
        evidence: { ...evidence, path: short(path, 400), function: short(name) },
        severity: "medium",
      });
      return;
    }
    if (kind === "raw") return; // data used as it is (an output shape)
    const code = Array.isArray(value) ? value[0] : value;
    if (typeof code === "string" && (Array.isArray(value) || kind === "lambda")) {
      this.lambdaCode(code, path, evidence);
    } else if (kind === "lambda") {
      // func_load of something that is not code: the load raises, but it is not what Keras writes
      this.report(`lambda-shape:${path}`, {
        ruleId: "keras/lambda-layer",
        message: `Lambda layer ${evidence.layer} stores its ${path.split(".").pop() ?? "function"} as ${shapeOf(value)}, not the base64 code func_load reads`,
        evidence: { ...evidence, path: short(path, 400), decoded: false, shape: shapeOf(value) },
        severity: "medium",
      });
    }
    // no type and an object: a Keras 3 serialized function, judged where the walk reaches it
  }

  /**
   * A Keras 3 `__lambda__` object: Lambda.from_config runs `func_load(config["code"], ...)`,
   * deserialize_keras_object `func_load(config["value"])`; either may be a code string or a
   * `[code, defaults, closure]` list.
   */
  kerasLambda(config: Json | undefined, path: string, depth: number, evidence: Record<string, string>): void {
    let found = false;
    if (isObject(config)) {
      for (const key of ["code", "value"] as const) {
        const raw = config[key];
        if (raw === undefined || raw === null) continue;
        const value = this.decode(raw, depth + 2);
        const code = Array.isArray(value) ? value[0] : value;
        if (typeof code === "string") {
          this.lambdaCode(code, `${path}.config.${key}`, evidence);
          found = true;
        }
      }
    }
    if (!found) {
      this.report(`lambda-shape:${path}`, {
        ruleId: "keras/lambda-layer",
        message: `a __lambda__ object at ${short(path)} holds no code string func_load can read (${shapeOf(config ?? null)} config)`,
        evidence: { ...evidence, decoded: false },
        severity: "medium",
      });
    }
  }

  lambdaCode(code: string, path: string, evidence: Record<string, string>): void {
    const { bytes, encoding } = funcLoadBytes(code);
    let detail: Record<string, string | number | boolean | null> = { decoded: false, encoding };
    let dangerous: string[] = [];
    let summary = "undecodable bytecode";
    try {
      const parsed = parseMarshal(bytes);
      dangerous = dangerousNames(parsed.codeObjects);
      const names = [...new Set(parsed.codeObjects.flatMap((c) => c.names))];
      const consts = [...new Set(parsed.codeObjects.flatMap((c) => c.stringConsts))];
      detail = {
        decoded: true,
        encoding,
        pythonVersion: parsed.pythonVersion,
        names: short(names.join(","), 400),
        strings: short(consts.map((s) => JSON.stringify(s)).join(","), 400),
        dangerous: dangerous.join(","),
        codeObjects: parsed.codeObjects.length,
      };
      summary =
        dangerous.length > 0
          ? `bytecode using ${dangerous.join(", ")}`
          : `bytecode using ${short(names.join(", ") || "no globals", 120)}`;
    } catch (error) {
      if (!(error instanceof ModelgateError) || error.code === "BUDGET_EXCEEDED") throw error;
      detail = { decoded: false, encoding, error: short(error.message) };
    }
    this.report(`lambda:${path}:${code.length}`, {
      ruleId: "keras/lambda-layer",
      message: `Lambda layer ${evidence.layer ?? ""} carries Python ${summary}`,
      evidence: { ...evidence, path: short(path, 400), ...detail },
      ...(dangerous.length > 0 ? { severity: "critical" as const } : {}),
    });
  }
}

/**
 * Analyses a parsed Keras configuration.
 * @param config - the parsed JSON (a model, layer or training config)
 * @param where - label of where the config came from (`config.json`, `model_config` ...), used in member names
 * @param budgets - limits
 */
export function analyzeKerasConfig(
  config: unknown,
  where: string,
  budgets: Partial<KerasConfigBudgets> = {},
): KerasConfigResult {
  const walker = new ConfigWalker({ ...DEFAULT_KERAS_CONFIG_BUDGETS, ...budgets }, where);
  walker.walk(config as Json, "$", 0);
  const facts: Record<string, unknown> = {};
  if (isObject(config as Json) && typeof (config as Record<string, unknown>).class_name === "string") {
    facts.modelClass = (config as Record<string, unknown>).class_name;
  }
  if (walker.layerTypes.size > 0) {
    facts.layers = [...walker.layerTypes.values()].reduce((a, b) => a + b, 0);
    facts.layerTypes = Object.fromEntries([...walker.layerTypes].sort((a, b) => b[1] - a[1]).slice(0, 50));
  }
  if (walker.dropped > 0) facts.findingsNotReported = walker.dropped;
  return { findings: walker.findings, payloads: walker.payloads, facts };
}

/**
 * Parses and analyses Keras configuration text.
 * @param text - JSON text
 * @param where - label of where it came from
 * @throws ModelgateError `MALFORMED` when the text is not JSON
 */
export function analyzeKerasConfigText(text: string, where: string): KerasConfigResult {
  let parsed: unknown;
  try {
    parsed = parseConfigJsonPlain(text, undefined, { maxTreeBytes: 32 << 20 });
  } catch (error) {
    throw new ModelgateError("MALFORMED", `${where} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  return analyzeKerasConfig(parsed, where);
}

/** Whether parsed JSON looks like a Keras model configuration (for JSON files outside archives). */
export function looksLikeKerasModelConfig(value: unknown): boolean {
  if (!isObject(value as Json)) return false;
  const o = value as Record<string, unknown>;
  if (typeof o.class_name !== "string") return false;
  if (typeof o.module === "string" && (o.module.startsWith("keras") || o.module.startsWith("tf_keras"))) return true;
  return ["Sequential", "Functional", "Model"].includes(o.class_name) && isObject(o.config as Json);
}
