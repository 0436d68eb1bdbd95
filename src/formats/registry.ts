/**
 * The analyzers the engine runs. Add one line per analyzer.
 * @module
 */
import { compressedAnalyzer } from "../containers/compressed/analyzer.js";
import { tarAnalyzer } from "../containers/tar/analyzer.js";
import { zipAnalyzer } from "../containers/zip/analyzer.js";
import { omsRepoAnalyzer } from "../integrity/oms/analyzer.js";
import { pinsRepoAnalyzer } from "../integrity/pins/analyzer.js";
import { configAnalyzer, configFactsAnalyzer } from "../policy/configs.js";
import type { Analyzer, RepoAnalyzer } from "../scan/types.js";
import { ggufAnalyzer } from "./gguf/analyzer.js";
import { notebookAnalyzer, pythonAnalyzer, shellAnalyzer } from "./hf/code-analyzers.js";
import { hfJsonAnalyzer } from "./hf/json-analyzer.js";
import { hfRepoAnalyzer } from "./hf/repo-analyzer.js";
import { kerasConfigAnalyzer, kerasHdf5Analyzer, kerasMemberAnalyzer } from "./keras/analyzer.js";
import { onnxAnalyzer } from "./onnx/analyzer.js";
import { safetensorsAnalyzer } from "./safetensors/analyzer.js";
import { savedModelAnalyzer } from "./savedmodel/analyzer.js";
import { jinjaAnalyzer } from "./template/analyzer.js";

/** Per-format analyzers, consulted in order for each detection. */
export const ANALYZERS: readonly Analyzer[] = [
  zipAnalyzer,
  tarAnalyzer,
  compressedAnalyzer,
  onnxAnalyzer,
  kerasConfigAnalyzer,
  kerasHdf5Analyzer,
  kerasMemberAnalyzer,
  savedModelAnalyzer,
  configFactsAnalyzer,
  safetensorsAnalyzer,
  ggufAnalyzer,
  jinjaAnalyzer,
  hfJsonAnalyzer,
  pythonAnalyzer,
  notebookAnalyzer,
  shellAnalyzer,
];

/** Analyzers of the scanned tree as a whole, run after every file. */
export const REPO_ANALYZERS: readonly RepoAnalyzer[] = [
  configAnalyzer,
  hfRepoAnalyzer,
  pinsRepoAnalyzer,
  omsRepoAnalyzer,
];
