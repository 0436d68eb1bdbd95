/**
 * The analyzers the engine runs. Add one line per analyzer.
 * @module
 */
import { compressedAnalyzer } from "../containers/compressed/analyzer.js";
import { sevenZipAnalyzer } from "../containers/sevenzip/analyzer.js";
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
import { joblibAnalyzer } from "./joblib/analyzer.js";
import { kerasConfigAnalyzer, kerasHdf5Analyzer, kerasMemberAnalyzer } from "./keras/analyzer.js";
import { numpyAnalyzer } from "./numpy/analyzer.js";
import { onnxAnalyzer } from "./onnx/analyzer.js";
import { pickleAnalyzer, torchscriptCodeAnalyzer } from "./pickle/analyzer.js";
import { pytorchLegacyAnalyzer } from "./pytorch-legacy/analyzer.js";
import { safetensorsAnalyzer } from "./safetensors/analyzer.js";
import { savedModelAnalyzer } from "./savedmodel/analyzer.js";
import { jinjaAnalyzer } from "./template/analyzer.js";

/**
 * TorchScript `code/` members are TorchScript, not Python shipped to be run: the pickle area's
 * {@link torchscriptCodeAnalyzer} reports them, the repository Python analyzer skips them.
 */
const pythonOutsideTorchScript: Analyzer = {
  ...pythonAnalyzer,
  analyze: (ctx) => (ctx.lineage.includes("torchscript") ? Promise.resolve() : pythonAnalyzer.analyze(ctx)),
};

/** Per-format analyzers, consulted in order for each detection. */
export const ANALYZERS: readonly Analyzer[] = [
  zipAnalyzer,
  tarAnalyzer,
  compressedAnalyzer,
  sevenZipAnalyzer,
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
  configFactsAnalyzer,
  safetensorsAnalyzer,
  ggufAnalyzer,
  jinjaAnalyzer,
  hfJsonAnalyzer,
  pythonOutsideTorchScript,
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
