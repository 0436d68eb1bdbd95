/**
 * The analyzers the engine runs. Add one line per analyzer.
 * @module
 */
import { configAnalyzer } from "../policy/configs.js";
import type { Analyzer, RepoAnalyzer } from "../scan/types.js";
import { joblibAnalyzer } from "./joblib/analyzer.js";
import { kerasConfigAnalyzer, kerasHdf5Analyzer, kerasMemberAnalyzer } from "./keras/analyzer.js";
import { numpyAnalyzer } from "./numpy/analyzer.js";
import { onnxAnalyzer } from "./onnx/analyzer.js";
import { pickleAnalyzer, torchscriptCodeAnalyzer } from "./pickle/analyzer.js";
import { pytorchLegacyAnalyzer } from "./pytorch-legacy/analyzer.js";
import { savedModelAnalyzer } from "./savedmodel/analyzer.js";

/** Per-format analyzers, consulted in order for each detection. */
export const ANALYZERS: readonly Analyzer[] = [
  onnxAnalyzer,
  kerasConfigAnalyzer,
  kerasHdf5Analyzer,
  kerasMemberAnalyzer,
  savedModelAnalyzer,
  pickleAnalyzer,
  pytorchLegacyAnalyzer,
  numpyAnalyzer,
  joblibAnalyzer,
  torchscriptCodeAnalyzer,
];

/** Analyzers of the scanned tree as a whole, run after every file. */
export const REPO_ANALYZERS: readonly RepoAnalyzer[] = [configAnalyzer];
