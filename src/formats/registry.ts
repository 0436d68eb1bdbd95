/**
 * The analyzers the engine runs. Add one line per analyzer.
 * @module
 */
import type { Analyzer, RepoAnalyzer } from "../scan/types.js";
import { ggufAnalyzer } from "./gguf/analyzer.js";
import { notebookAnalyzer, pythonAnalyzer, shellAnalyzer } from "./hf/code-analyzers.js";
import { hfJsonAnalyzer } from "./hf/json-analyzer.js";
import { hfRepoAnalyzer } from "./hf/repo-analyzer.js";
import { safetensorsAnalyzer } from "./safetensors/analyzer.js";
import { jinjaAnalyzer } from "./template/analyzer.js";

/** Per-format analyzers, consulted in order for each detection. */
export const ANALYZERS: readonly Analyzer[] = [
  safetensorsAnalyzer,
  ggufAnalyzer,
  jinjaAnalyzer,
  hfJsonAnalyzer,
  pythonAnalyzer,
  notebookAnalyzer,
  shellAnalyzer,
];

/** Analyzers of the scanned tree as a whole, run after every file. */
export const REPO_ANALYZERS: readonly RepoAnalyzer[] = [hfRepoAnalyzer];
