/**
 * Static analysis of a Keras model configuration (`config.json` of a `.keras` archive, the
 * `model_config` attribute of a legacy `.h5`, the layer metadata of a SavedModel). It walks the
 * JSON tree and reports what would make `load_model` run code: Lambda bytecode, modules outside
 * Keras, TFOpLambda calls, pickled Torch modules, `get_file` and safe-mode bypasses.
 * @module
 */
import { ModelgateError } from "../../core/errors.js";
import { type FindingInput, FindingList } from "../../core/findings.js";
import { parseConfigJsonPlain } from "../hf/text.js";
import { dangerousNames, parseMarshal } from "../marshal/marshal.js";
import { DANGEROUS_MODULE_ROOTS, DANGEROUS_TF_FUNCTION, KERAS_CLASSES, KERAS_MODULE_ROOTS } from "./classes.js";

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

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const isObject = (v: unknown): v is Record<string, Json> => v !== null && typeof v === "object" && !Array.isArray(v);
const short = (s: string, n = 200) => (s.length > n ? `${s.slice(0, n)}…` : s);

/** Decodes base64 as Python's `codecs.decode(..., "base64")` does (line breaks allowed). */
function decodeBase64(text: string): Uint8Array | undefined {
  const clean = text.replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.length % 4 === 1) return undefined;
  return new Uint8Array(Buffer.from(clean, "base64"));
}

class ConfigWalker {
  readonly payloads: EmbeddedPayload[] = [];
  readonly layerTypes = new Map<string, number>();
  readonly #seen = new Set<string>();
  readonly #findings: FindingList;
  #nodes = 0;
  #reported = 0;

  constructor(
    readonly budgets: KerasConfigBudgets,
    readonly where: string,
  ) {
    this.#findings = new FindingList(budgets.maxFindings);
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
    if (depth > this.budgets.maxDepth) {
      throw new ModelgateError("BUDGET_EXCEEDED", `Keras config nested deeper than ${this.budgets.maxDepth}`, {
        budget: "keras.maxDepth",
      });
    }
    if (++this.#nodes > this.budgets.maxNodes) {
      throw new ModelgateError("BUDGET_EXCEEDED", `Keras config has more than ${this.budgets.maxNodes} values`, {
        budget: "keras.maxNodes",
      });
    }
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
    this.object(value, path);
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
    if (value === "get_file" || value.endsWith(".get_file")) {
      this.report(`get_file:${path}`, {
        ruleId: "keras/get-file",
        message: `the config references get_file at ${short(path)}`,
        evidence: { path: short(path, 400), value: short(value) },
      });
    }
  }

  object(o: Record<string, Json>, path: string): void {
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
          this.lambdaFunction(config.function, config.function_type, `${path}.config.function`, evidence);
          this.lambdaFunction(config.output_shape, config.output_shape_type, `${path}.config.output_shape`, evidence);
        }
        return;
      case "__lambda__":
        if (isObject(config)) {
          const code =
            typeof config.code === "string" ? config.code : Array.isArray(config.value) ? config.value[0] : undefined;
          this.lambdaCode(code, path, evidence);
        }
        return;
      case "TFOpLambda":
      case "SlicingOpLambda": {
        const fn = isObject(config) && typeof config.function === "string" ? config.function : "";
        const bad = DANGEROUS_TF_FUNCTION.test(fn);
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
          const remote = /^[a-z][a-z0-9+.-]*:\/\//i.test(vocab) || vocab.startsWith("/") || vocab.includes("..");
          this.report(`vocab:${vocab}`, {
            ruleId: "keras/vocabulary-file",
            message: `${cls} layer ${short(String(layerName))} reads its vocabulary from ${JSON.stringify(short(vocab))}`,
            evidence: { ...evidence, vocabulary: short(vocab, 400) },
            ...(remote ? { severity: "high" as const } : {}),
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

  /** A Keras 2 Lambda `function`/`output_shape`: `[b64 code, defaults, closure]` or a name. */
  lambdaFunction(
    value: Json | undefined,
    type: Json | undefined,
    path: string,
    evidence: Record<string, string>,
  ): void {
    if (value === undefined || value === null) return;
    if (Array.isArray(value) && typeof value[0] === "string" && (type === "lambda" || type === undefined)) {
      this.lambdaCode(value[0], path, evidence);
    } else if (typeof value === "string" && type === "lambda") {
      this.lambdaCode(value, path, evidence);
    } else if (typeof value === "string" && (type === "function" || type === "raw")) {
      this.report(`lambda-name:${value}`, {
        ruleId: "keras/lambda-layer",
        message: `Lambda layer ${evidence.layer} calls the function ${JSON.stringify(short(value))} resolved by name at load`,
        evidence: { ...evidence, function: short(value) },
        severity: "medium",
      });
    }
  }

  lambdaCode(code: Json | undefined, path: string, evidence: Record<string, string>): void {
    if (typeof code !== "string") return;
    const bytes = decodeBase64(code);
    let detail: Record<string, string | number | boolean | null> = { decoded: false };
    let dangerous: string[] = [];
    let summary = "undecodable bytecode";
    if (bytes !== undefined) {
      try {
        const parsed = parseMarshal(bytes);
        dangerous = dangerousNames(parsed.codeObjects);
        const names = [...new Set(parsed.codeObjects.flatMap((c) => c.names))];
        const consts = [...new Set(parsed.codeObjects.flatMap((c) => c.stringConsts))];
        detail = {
          decoded: true,
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
        detail = { decoded: false, error: short(error.message) };
      }
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
