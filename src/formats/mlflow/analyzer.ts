/**
 * The MLmodel analyzer: the YAML analysis of the file, then its flavours: which module
 * `mlflow.pyfunc.load_model` imports (`loader_module`), and whether the model ships Python.
 * @module
 */
import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import type { FindingInput } from "../../core/findings.js";
import { preview } from "../../core/preview.js";
import { analyzeYamlFile } from "../yaml/analyzer.js";
import { CODE_DIRS_FACT } from "./index.js";
import { mlmodelPlain } from "./plain.js";

/** MLflow's own flavour modules, which `loader_module` names in models MLflow saved. */
export const MLFLOW_LOADERS: ReadonlySet<string> = new Set(
  [
    "catboost",
    "diviner",
    "dspy",
    "fastai",
    "gluon",
    "h2o",
    "johnsnowlabs",
    "keras",
    "langchain",
    "lightgbm",
    "llama_index",
    "mleap",
    "onnx",
    "openai",
    "paddle",
    "pmdarima",
    "promptflow",
    "prophet",
    "pyfunc.model",
    // the pyfunc loaders MLflow writes itself (`_get_pyfunc_loader_module`, models from code)
    "pyfunc.loaders.chat_agent",
    "pyfunc.loaders.chat_model",
    "pyfunc.loaders.code_model",
    "pyfunc.loaders.responses_agent",
    "pytorch",
    "sentence_transformers",
    "shap",
    "sklearn",
    "spacy",
    "spark",
    "statsmodels",
    "tensorflow",
    "transformers",
    "xgboost",
  ].map((m) => `mlflow.${m}`),
);

type Plain = Record<string, unknown>;
const isObject = (v: unknown): v is Plain => typeof v === "object" && v !== null && !Array.isArray(v);
/** A YAML string that is not null (`null`, `~`, empty). */
const str = (v: unknown): string | undefined =>
  typeof v === "string" && !/^(?:null|Null|NULL|~|)$/.test(v.trim()) ? v.trim() : undefined;

/** What an MLmodel's flavours say. */
export interface MlmodelSummary {
  readonly flavors: readonly string[];
  /** `python_function.loader_module`. */
  readonly loaderModule?: string;
  /** Code a flavour ships: `code` directories, `model_code_path`, a `.py` `python_model`. */
  readonly code: readonly string[];
  /** The flavours' `code` directories, which loading puts first on `sys.path`. */
  readonly codeDirs: readonly string[];
  readonly mlflowVersion?: string;
}

/**
 * Reads an MLmodel document's flavours and the findings they call for.
 * @param root - the composed document's contents
 */
export function mlmodelFindings(root: unknown): { summary?: MlmodelSummary; findings: FindingInput[] } {
  const findings: FindingInput[] = [];
  const doc = mlmodelPlain(root);
  const flavors = isObject(doc) ? doc.flavors : undefined;
  if (!isObject(doc) || !isObject(flavors)) {
    findings.push({ ruleId: "mlflow/invalid-mlmodel", message: "MLmodel has no `flavors` mapping" });
    return { findings };
  }
  const code: string[] = [];
  const codeDirs = new Set<string>();
  for (const [name, conf] of Object.entries(flavors)) {
    if (!isObject(conf)) continue;
    const dir = str(conf.code);
    if (dir !== undefined && codeDirs.size < 16) codeDirs.add(dir);
    for (const key of ["code", "model_code_path"]) {
      const path = str(conf[key]);
      if (path !== undefined) code.push(`${name}.${key}: ${path}`);
    }
    const model = str(conf.python_model);
    if (model?.endsWith(".py") === true) code.push(`${name}.python_model: ${model}`);
  }
  const pyfunc = flavors.python_function;
  let loaderModule: string | undefined;
  if (isObject(pyfunc)) {
    loaderModule = str(pyfunc.loader_module);
    if (loaderModule === undefined) {
      findings.push({
        ruleId: "mlflow/invalid-mlmodel",
        message: "the python_function flavour names no loader_module",
      });
    } else if (!MLFLOW_LOADERS.has(loaderModule)) {
      const dir = str(pyfunc.code);
      findings.push({
        ruleId: "mlflow/custom-loader",
        message: `mlflow.pyfunc.load_model imports ${preview(loaderModule, 100)}${dir === undefined ? "" : ` (from the shipped ${preview(dir, 60)}/ directory first)`} and calls its _load_pyfunc`,
        evidence: {
          loaderModule: preview(loaderModule, 160),
          callee: `${preview(loaderModule, 140)}._load_pyfunc`,
          ...(dir === undefined ? {} : { code: preview(dir, 120) }),
        },
      });
    }
  }
  if (code.length > 0) {
    findings.push({
      ruleId: "mlflow/shipped-code",
      message: `the model ships Python that loading it imports or runs: ${code
        .slice(0, 4)
        .map((c) => preview(c, 80))
        .join(", ")}`,
      evidence: { code: preview(code.join(","), 200), count: code.length },
    });
  }
  const mlflowVersion = str(doc.mlflow_version);
  return {
    summary: {
      flavors: Object.keys(flavors),
      code,
      codeDirs: [...codeDirs],
      ...(loaderModule === undefined ? {} : { loaderModule }),
      ...(mlflowVersion === undefined ? {} : { mlflowVersion }),
    },
    findings,
  };
}

/** Analyses MLmodel files. */
export const mlmodelAnalyzer: Analyzer = {
  name: "mlflow",
  formats: ["mlflow"],
  async analyze(ctx: AnalysisContext): Promise<void> {
    const read: { summary?: MlmodelSummary | undefined } = {};
    await analyzeYamlFile(ctx, (analysis) => {
      if (analysis.docs.length === 0 || analysis.exceeded !== undefined) return [];
      const found = mlmodelFindings(analysis.docs[0]?.contents);
      read.summary = found.summary;
      return found.findings;
    });
    const summary = read.summary;
    if (summary === undefined) return;
    ctx.fact("mlflow.flavors", summary.flavors.join(","));
    if (summary.loaderModule !== undefined) ctx.fact("mlflow.loaderModule", summary.loaderModule);
    if (summary.mlflowVersion !== undefined) ctx.fact("mlflow.version", summary.mlflowVersion);
    // read by the repository analyzer, which judges the modules of these directories
    if (summary.codeDirs.length > 0) ctx.fact(CODE_DIRS_FACT, summary.codeDirs);
  },
};
