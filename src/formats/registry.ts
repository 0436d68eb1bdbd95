/**
 * The analyzers the engine runs. Add one line per analyzer.
 * @module
 */
import { compressedAnalyzer } from "../containers/compressed/analyzer.js";
import { tarAnalyzer } from "../containers/tar/analyzer.js";
import { zipAnalyzer } from "../containers/zip/analyzer.js";
import { configAnalyzer, configFactsAnalyzer } from "../policy/configs.js";
import type { Analyzer, RepoAnalyzer } from "../scan/types.js";
import { kerasConfigAnalyzer, kerasHdf5Analyzer, kerasMemberAnalyzer } from "./keras/analyzer.js";
import { onnxAnalyzer } from "./onnx/analyzer.js";
import { savedModelAnalyzer } from "./savedmodel/analyzer.js";

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
];

/** Analyzers of the scanned tree as a whole, run after every file. */
export const REPO_ANALYZERS: readonly RepoAnalyzer[] = [configAnalyzer];
