/**
 * The pyc module: CPython bytecode files. A `.pyc` directly in a folder on `sys.path` is imported
 * as a module with no source (and TorchServe's model directory and an MLflow model's `code`
 * directory are put first on `sys.path`), so it is judged as code: the marshalled code objects are
 * decoded (never executed) and the names they use are checked.
 *
 * Detection: the header: a magic number in CPython's ranges followed by `\r\n`, valid PEP 552 flags,
 * and a code object where the header ends.
 * @module
 */
import { type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";
import { detectPyc } from "./pyc.js";

declare module "../../core/formats.js" {
  interface FormatRegistry {
    pyc: true;
  }
}

const rules = lazyRules(import.meta.url, "./rules.js", "pycRules");

/** CPython bytecode. */
export const pycModule = {
  name: "marshal",
  formats: [{ id: "pyc", description: "CPython bytecode (.pyc)", claimExtensions: ["pyc", "pyo"] }],
  // a binary magic: before pickle (150) and text (190)
  detectors: [{ rank: 22, detect: detectPyc }],
  analyzers: [lazyAnalyzer("pyc", ["pyc"], async () => (await import("./pyc-analyzer.js")).pycAnalyzer)],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
